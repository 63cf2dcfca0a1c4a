import Schema from 'async-validator'
import { describe, expect, it } from 'vitest'
import type { Directory } from '@/api/types'
import { loginRules, newPasswordRules } from '@/views/login/utils/rule'
import { emptyCommandForm, type CommandForm } from '@/views/tickets/detail/utils/hook'
import { commandRules, TEXT_MAX } from '@/views/tickets/detail/utils/rule'
import { userRules, type UserForm } from '@/views/admin/users/utils/rule'
import { newUserBody, userPatch } from '@/views/admin/users/utils/hook'
import { terminalRules, type TerminalForm } from '@/views/admin/terminals/utils/rule'
import { problemText, validateDirectory } from '@/views/admin/directory/utils/hook'

/** Run Element Plus-style rules with the validator Element Plus uses; the messages of failures. */
async function errorsOf(rules: object, model: object): Promise<Record<string, string>> {
  try {
    await new Schema(rules as never).validate(model as never, { first: false })
    return {}
  } catch (e) {
    const { errors } = e as { errors: { field: string; message: string }[] }
    return Object.fromEntries(errors.map((x) => [x.field, x.message]))
  }
}

const cmd = (patch: Partial<CommandForm>): CommandForm => ({ ...emptyCommandForm(), ...patch })

describe('command form rules', () => {
  it('回访: asks whether the evaluator was reached, then for a verdict if so', async () => {
    let form = cmd({})
    expect(await errorsOf(commandRules('RecordContact', form), form)).toEqual({ reached: '请选择是否联系上评价人' })
    form = cmd({ reached: true })
    expect(await errorsOf(commandRules('RecordContact', form), form)).toEqual({ verdict: '请选择核实结果：属实或不属实' })
    form = cmd({ reached: true, verdict: '不属实' })
    expect(await errorsOf(commandRules('RecordContact', form), form)).toEqual({})
    form = cmd({ reached: false })
    expect(await errorsOf(commandRules('RecordContact', form), form)).toEqual({})
  })
  it('整改/反馈/解释 need text of at most 2000 characters, not just spaces', async () => {
    expect(await errorsOf(commandRules('RecordRectification', cmd({})), cmd({ measures: '   ' }))).toEqual({ measures: '请填写整改措施' })
    expect(await errorsOf(commandRules('GiveFeedback', cmd({})), cmd({ message: 'x'.repeat(TEXT_MAX + 1) }))).toEqual({
      message: '反馈内容不能超过 2000 字',
    })
    expect(await errorsOf(commandRules('GiveFeedback', cmd({})), cmd({ message: 'x'.repeat(TEXT_MAX) }))).toEqual({})
    expect(await errorsOf(commandRules('ExplainPolicy', cmd({})), cmd({}))).toEqual({ explanation: '请填写政策解释内容' })
  })
  it('申诉 needs a ground and an argument; 复核 a decision and a reason', async () => {
    expect(await errorsOf(commandRules('FileAppeal', cmd({})), cmd({}))).toEqual({ ground: '请选择申诉理由', argument: '请填写申诉说明' })
    expect(await errorsOf(commandRules('FileAppeal', cmd({})), cmd({ ground: 'mistaken', argument: '按错' }))).toEqual({})
    expect(await errorsOf(commandRules('DecideAppeal', cmd({})), cmd({ reason: 'r' }))).toEqual({ upheld: '请选择复核结论' })
    expect(await errorsOf(commandRules('DecideAppeal', cmd({})), cmd({ upheld: false, reason: 'r' }))).toEqual({})
  })
  it('分派 needs an officer; 认领 and 办结 have nothing to fill', async () => {
    expect(await errorsOf(commandRules('AssignTicket', cmd({})), cmd({}))).toEqual({ officer_id: '请选择承办人' })
    expect(commandRules('ClaimTicket', cmd({}))).toEqual({})
    expect(commandRules('CloseTicket', cmd({}))).toEqual({})
  })
})

describe('sign-in and password rules', () => {
  it('needs both fields', async () => {
    expect(await errorsOf(loginRules, { user_id: ' ', password: '' })).toEqual({ user_id: '请输入账号', password: '请输入密码' })
    expect(await errorsOf(loginRules, { user_id: 'zhang', password: 'x' })).toEqual({})
  })
  it('new passwords: at least 8 characters and typed twice the same', async () => {
    const model = { new_password: 'short', confirm: 'short' }
    expect(await errorsOf(newPasswordRules(() => model.new_password), model)).toEqual({ new_password: '密码长度为 8–128 个字符' })
    const m2 = { new_password: 'long enough', confirm: 'long enougH' }
    expect(await errorsOf(newPasswordRules(() => m2.new_password), m2)).toEqual({ confirm: '两次输入的密码不一致' })
  })
})

describe('admin rules', () => {
  it('an officer needs a department; other roles do not', async () => {
    const f: UserForm = { id: 'zhang', role: 'officer', department_id: '', password: '' }
    expect(await errorsOf(userRules(f, true), f)).toEqual({ department_id: '整改责任人须选择所属部门' })
    const g: UserForm = { id: 'boss', role: 'manager', department_id: '', password: '' }
    expect(await errorsOf(userRules(g, true), g)).toEqual({})
    const h: UserForm = { id: 'a b', role: 'admin', department_id: '', password: 'short' }
    expect(Object.keys(await errorsOf(userRules(h, true), h)).sort()).toEqual(['id', 'password'])
  })
  it('user bodies and patches carry only what is needed', () => {
    expect(newUserBody({ id: ' zhang ', role: 'officer', department_id: 'D1', password: '' })).toEqual({ id: 'zhang', role: 'officer', department_id: 'D1' })
    expect(newUserBody({ id: 'm', role: 'manager', department_id: '', password: 'password1' })).toEqual({ id: 'm', role: 'manager', password: 'password1' })
    const u = { id: 'zhang', role: 'officer' as const, department_id: 'D1', disabled: false, has_password: true, created_at: '' }
    expect(userPatch(u, { id: 'zhang', role: 'officer', department_id: 'D1', password: '' })).toEqual({})
    expect(userPatch(u, { id: 'zhang', role: 'supervisor', department_id: '', password: '' })).toEqual({ role: 'supervisor', department_id: null })
  })
  it('a window pad needs a window of its hall', async () => {
    const inHall = (w: string, h: string) => w === 'W1' && h === 'H1'
    const f: TerminalForm = { terminal_id: 'pad-01', kind: 'pad', hall_id: 'H1', window_id: '' }
    expect(await errorsOf(terminalRules(f, inHall), f)).toEqual({ window_id: '窗口评价器须选择所在窗口' })
    const g: TerminalForm = { terminal_id: 'pad-01', kind: 'pad', hall_id: 'H2', window_id: 'W1' }
    expect(await errorsOf(terminalRules(g, inHall), g)).toEqual({ window_id: '所选窗口不在该大厅' })
    const k: TerminalForm = { terminal_id: 'kiosk-1', kind: 'kiosk', hall_id: 'H1', window_id: '' }
    expect(await errorsOf(terminalRules(k, inHall), k)).toEqual({})
  })
  it('the directory: ids unique and present, names present, windows point at real halls and departments', () => {
    const d: Directory = {
      halls: [{ id: 'H1', name: '区政务服务中心' }],
      departments: [
        { id: 'D1', name: '区政数局' },
        { id: 'D1', name: '区财政局' },
      ],
      windows: [
        { id: 'W1', name: '', hall_id: 'H1', department_id: 'D1' },
        { id: 'W 2', name: '综合窗口', hall_id: 'H9', department_id: 'D9' },
      ],
    }
    expect(validateDirectory(d).map(problemText)).toEqual([
      '部门第 2 行：编号 D1 与第 1 行重复',
      '窗口第 1 行：名称不能为空',
      '窗口第 2 行：编号不能含空格',
      '窗口第 2 行：请选择所属大厅',
      '窗口第 2 行：请选择责任部门',
    ])
    expect(validateDirectory({ halls: [{ id: 'H1', name: 'h' }], departments: [{ id: 'D1', name: 'd' }], windows: [{ id: 'W1', name: 'w', hall_id: 'H1', department_id: 'D1' }] })).toEqual([])
  })
})
