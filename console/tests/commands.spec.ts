import { describe, expect, it } from 'vitest'
import type { CommandKind, TicketDetail } from '@/api/types'
import {
  buildCommand,
  canRevealPhone,
  checkEvidenceFile,
  COMMAND_ORDER,
  emptyCommandForm,
  EVIDENCE_MAX_BYTES,
  visibleCommands,
} from '@/views/tickets/detail/utils/hook'

describe('allowed commands -> forms shown', () => {
  it('shows exactly the allowed commands, in the usual order', () => {
    expect(visibleCommands(['CloseTicket', 'GiveFeedback'])).toEqual(['GiveFeedback', 'CloseTicket'])
    expect(visibleCommands(['DecideAppeal', 'AssignTicket'])).toEqual(['AssignTicket', 'DecideAppeal'])
  })
  it('shows nothing when nothing is allowed, and ignores kinds it does not know', () => {
    expect(visibleCommands([])).toEqual([])
    expect(visibleCommands(null)).toEqual([])
    expect(visibleCommands(['RevealPhone', 'CheckDeadlines', 'OpenTicket', 'ClaimTicket'])).toEqual(['ClaimTicket'])
  })
  it('knows every command kind of API.md', () => {
    expect(new Set(visibleCommands(COMMAND_ORDER))).toEqual(new Set(COMMAND_ORDER))
    expect(COMMAND_ORDER).toHaveLength(9)
  })
})

describe('phone reveal', () => {
  const ticket = (officer_id: string | null, phone: string | null) =>
    ({ officer_id, review: { phone } }) as unknown as TicketDetail
  const me = { id: 'zhang', role: 'officer' as const, department_id: 'D1' }
  it('is offered to the assignee of a ticket with a number', () => {
    expect(canRevealPhone(me, ticket('zhang', '139****5678'))).toBe(true)
  })
  it('is not offered to anyone else, nor without a number', () => {
    expect(canRevealPhone(me, ticket('li', '139****5678'))).toBe(false)
    expect(canRevealPhone(me, ticket(null, '139****5678'))).toBe(false)
    expect(canRevealPhone(me, ticket('zhang', null))).toBe(false)
    expect(canRevealPhone(null, ticket('zhang', '139****5678'))).toBe(false)
    expect(canRevealPhone({ ...me, role: 'supervisor' as const, id: 'sup' }, ticket('zhang', '139****5678'))).toBe(false)
  })
})

describe('command bodies', () => {
  const f = () => emptyCommandForm()
  it('always carry the version shown as expected_version', () => {
    for (const kind of COMMAND_ORDER) expect(buildCommand(kind as CommandKind, f(), 7).expected_version).toBe(7)
  })
  it('have the fields API.md names per kind', () => {
    expect(buildCommand('AssignTicket', { ...f(), officer_id: 'li' }, 2)).toEqual({ kind: 'AssignTicket', officer_id: 'li', expected_version: 2 })
    expect(buildCommand('ClaimTicket', f(), 1)).toEqual({ kind: 'ClaimTicket', expected_version: 1 })
    expect(buildCommand('CloseTicket', { ...f(), note: 'ignored' }, 9)).toEqual({ kind: 'CloseTicket', expected_version: 9 })
    expect(buildCommand('RecordRectification', { ...f(), measures: ' 加强培训 ', evidence: ['ab12'] }, 3)).toEqual({
      kind: 'RecordRectification',
      measures: '加强培训',
      evidence: ['ab12'],
      expected_version: 3,
    })
    expect(buildCommand('GiveFeedback', { ...f(), message: '已整改' }, 4)).toEqual({ kind: 'GiveFeedback', message: '已整改', expected_version: 4 })
    expect(buildCommand('ExplainPolicy', { ...f(), explanation: '依据…' }, 4)).toEqual({ kind: 'ExplainPolicy', explanation: '依据…', expected_version: 4 })
    expect(buildCommand('FileAppeal', { ...f(), ground: 'malicious', argument: '同一号码连续差评' }, 5)).toEqual({
      kind: 'FileAppeal',
      ground: 'malicious',
      argument: '同一号码连续差评',
      expected_version: 5,
    })
    expect(buildCommand('DecideAppeal', { ...f(), upheld: false, reason: '证据不足' }, 6)).toEqual({
      kind: 'DecideAppeal',
      upheld: false,
      reason: '证据不足',
      expected_version: 6,
    })
  })
  it('record a contact with its verdict only when the evaluator was reached', () => {
    expect(buildCommand('RecordContact', { ...f(), reached: true, verdict: '属实', note: '已道歉' }, 2)).toEqual({
      kind: 'RecordContact',
      reached: true,
      verdict: '属实',
      note: '已道歉',
      expected_version: 2,
    })
    expect(buildCommand('RecordContact', { ...f(), reached: false, verdict: '属实', note: '' }, 2)).toEqual({
      kind: 'RecordContact',
      reached: false,
      verdict: null,
      note: '',
      expected_version: 2,
    })
  })
  it('copy the evidence list (later edits of the form do not change a sent command)', () => {
    const form = { ...f(), measures: 'x', evidence: ['a'] }
    const cmd = buildCommand('RecordRectification', form, 1) as { evidence: string[] }
    form.evidence.push('b')
    expect(cmd.evidence).toEqual(['a'])
  })
})

describe('evidence files', () => {
  it('accepts the five types up to 10 MiB', () => {
    expect(checkEvidenceFile({ name: '整改照片.JPG', size: 1000, type: 'image/jpeg' })).toBeNull()
    expect(checkEvidenceFile({ name: 'a.pdf', size: EVIDENCE_MAX_BYTES, type: 'application/pdf' })).toBeNull()
    expect(checkEvidenceFile({ name: 'a.xlsx', size: 10, type: '' })).toBeNull()
  })
  it('refuses other types, a type that disagrees with the name, and larger files', () => {
    expect(checkEvidenceFile({ name: 'a.exe', size: 10, type: 'application/octet-stream' })).toContain('不支持的文件类型')
    expect(checkEvidenceFile({ name: 'noext', size: 10 })).toContain('不支持的文件类型')
    expect(checkEvidenceFile({ name: 'a.png', size: 10, type: 'text/html' })).toContain('不支持的文件类型')
    expect(checkEvidenceFile({ name: 'a.pdf', size: EVIDENCE_MAX_BYTES + 1, type: 'application/pdf' })).toBe('文件过大，不能超过 10 MB')
    expect(checkEvidenceFile({ name: 'a.pdf', size: 0, type: 'application/pdf' })).toContain('文件为空')
  })
})
