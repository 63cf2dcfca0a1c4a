import { computed, getCurrentScope, onScopeDispose, ref, shallowRef } from 'vue'
import { getTicket, revealPhone, sendCommand, uploadEvidence } from '@/api/tickets'
import type {
  Actor,
  AppealGround,
  Command,
  CommandKind,
  Evidence,
  Officer,
  TicketDetail,
  TicketEventItem,
  Verdict,
} from '@/api/types'
import { ApiError, userMessage } from '@/utils/errors'
import { formatDateTime } from '@/utils/format'
import { COMMAND_LABELS, GROUND_LABELS, RESOLUTION_LABELS, ratingLabel, stageLabel } from '@/utils/labels'

export const CONFLICT_MESSAGE = '该工单已被他人处理，已刷新为最新状态'

/** The order command buttons appear in: the usual path first, then the other paths. */
export const COMMAND_ORDER: CommandKind[] = [
  'ClaimTicket',
  'AssignTicket',
  'RecordContact',
  'RecordRectification',
  'GiveFeedback',
  'CloseTicket',
  'ExplainPolicy',
  'FileAppeal',
  'DecideAppeal',
]

/** The forms to show: exactly the commands the worker says this caller may do now, in order. */
export function visibleCommands(allowed: readonly string[] | null | undefined): CommandKind[] {
  const set = new Set(allowed ?? [])
  return COMMAND_ORDER.filter((k) => set.has(k))
}

/** Only the officer handling the ticket may see the evaluator's number, and only if one was left. */
export function canRevealPhone(actor: Actor | null | undefined, t: Pick<TicketDetail, 'officer_id' | 'review'> | null): boolean {
  return !!actor && !!t && !!t.officer_id && actor.id === t.officer_id && !!t.review?.phone
}

export interface CommandForm {
  officer_id: string
  reached: boolean | null
  verdict: Verdict | null
  note: string
  measures: string
  evidence: string[]
  message: string
  explanation: string
  ground: AppealGround | ''
  argument: string
  upheld: boolean | null
  reason: string
}

export const emptyCommandForm = (): CommandForm => ({
  officer_id: '',
  reached: null,
  verdict: null,
  note: '',
  measures: '',
  evidence: [],
  message: '',
  explanation: '',
  ground: '',
  argument: '',
  upheld: null,
  reason: '',
})

/** The command body for a kind from the (validated) form, always with the version shown. */
export function buildCommand(kind: CommandKind, f: CommandForm, expectedVersion: number): Command {
  const v = { expected_version: expectedVersion }
  switch (kind) {
    case 'AssignTicket':
      return { kind, officer_id: f.officer_id, ...v }
    case 'ClaimTicket':
      return { kind, ...v }
    case 'RecordContact':
      return { kind, reached: f.reached === true, verdict: f.reached ? f.verdict : null, note: f.note.trim(), ...v }
    case 'RecordRectification':
      return { kind, measures: f.measures.trim(), evidence: [...f.evidence], ...v }
    case 'GiveFeedback':
      return { kind, message: f.message.trim(), ...v }
    case 'CloseTicket':
      return { kind, ...v }
    case 'ExplainPolicy':
      return { kind, explanation: f.explanation.trim(), ...v }
    case 'FileAppeal':
      return { kind, ground: f.ground as AppealGround, argument: f.argument.trim(), ...v }
    case 'DecideAppeal':
      return { kind, upheld: f.upheld === true, reason: f.reason.trim(), ...v }
  }
}

// --- the timeline ------------------------------------------------------------------------

export type TimelineType = 'primary' | 'success' | 'warning' | 'danger' | 'info'

export interface TimelineItem {
  key: string
  title: string
  detail: string | null
  at: string
  actor: string
  type: TimelineType
}

export interface LabelContext {
  /** 1-based number of this contact attempt among the ticket's ContactRecorded events */
  attempt?: number
  officerName?: (id: string) => string
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '')

/** The Chinese title and detail of one ticket event. */
export function eventLabel(event: TicketEventItem['event'], ctx: LabelContext = {}): { title: string; detail: string | null; type: TimelineType } {
  const name = ctx.officerName ?? ((id: string) => id)
  switch (event.type) {
    case 'TicketOpened': {
      const reasons = Array.isArray(event.reasons) && event.reasons.length ? `；原因：${(event.reasons as string[]).join('、')}` : ''
      return { title: '工单生成', detail: `评价：${ratingLabel(event.rating as number)}${reasons}`, type: 'danger' }
    }
    case 'TicketAssigned':
      return { title: `已分派给 ${name(str(event.officer_id))}`, detail: null, type: 'primary' }
    case 'ContactRecorded': {
      const nth = ctx.attempt ? `第 ${ctx.attempt} 次` : ''
      const reached = event.reached === true
      const head = `回访（${reached ? '已联系' : '未接通'}${nth ? '，' + nth : ''}）`
      const verdict = reached && (event.verdict === '属实' || event.verdict === '不属实') ? `：${event.verdict}` : ''
      return { title: head + verdict, detail: str(event.note) || null, type: reached ? 'primary' : 'warning' }
    }
    case 'RectificationRecorded': {
      const n = Array.isArray(event.evidence) ? event.evidence.length : 0
      return { title: '整改措施', detail: str(event.measures) + (n ? `（附证据 ${n} 份）` : ''), type: 'primary' }
    }
    case 'FeedbackGiven':
      return { title: '已反馈', detail: str(event.message) || null, type: 'primary' }
    case 'PolicyExplained':
      return { title: '政策解释', detail: str(event.explanation) || null, type: 'primary' }
    case 'TicketClosed': {
      const how = RESOLUTION_LABELS[str(event.resolution)]
      return { title: how ? `办结（${how}）` : '办结', detail: null, type: 'success' }
    }
    case 'AppealFiled': {
      const ground = GROUND_LABELS[str(event.ground) as AppealGround]
      return { title: ground ? `提出申诉（${ground}）` : '提出申诉', detail: str(event.argument) || null, type: 'warning' }
    }
    case 'AppealDecided':
      return event.upheld === true
        ? { title: '复核结果：维持申诉，评价作废', detail: str(event.reason) || null, type: 'info' }
        : { title: '复核结果：驳回申诉，继续整改', detail: str(event.reason) || null, type: 'warning' }
    case 'TicketReopened':
      return {
        title: '追评重开',
        detail: `追评：${ratingLabel(event.rating as number)}；新整改时限：${formatDateTime(str(event.resolve_due))}`,
        type: 'danger',
      }
    case 'DeadlineWarned':
      return {
        title: `时限预警：${stageLabel(str(event.stage))}时限已过 ${String(event.percent ?? '')}%`,
        detail: `截止：${formatDateTime(str(event.due))}`,
        type: 'warning',
      }
    case 'TicketEscalated':
      return { title: `超期督办：${stageLabel(str(event.stage))}已超期`, detail: `截止：${formatDateTime(str(event.due))}`, type: 'danger' }
    case 'PhoneViewed':
      return { title: '查看号码', detail: `${str(event.viewer_id)} 查看了评价人号码`, type: 'info' }
    default:
      return { title: '其他记录', detail: null, type: 'info' }
  }
}

/** Who acted, as a person reads it: the platform's own events are 系统's, officers by name. */
export function actorLabel(actor: { id?: string | null; role?: string | null } | null | undefined, officerName: (id: string) => string): string {
  if (!actor?.id) return ''
  if (actor.role === 'system') return '系统'
  return officerName(actor.id)
}

/** An officer's name and id from the department's officers, else the id alone. */
export function officerLabel(id: string | null | undefined, officers: readonly Officer[] = []): string {
  if (!id) return '未分派'
  const o = officers.find((x) => x.id === id)
  return o && o.name && o.name !== id ? `${o.name}（${id}）` : id
}

export function timelineItems(events: readonly TicketEventItem[], officers: readonly Officer[] = []): TimelineItem[] {
  const names = new Map(officers.map((o) => [o.id, o.name]))
  const officerName = (id: string) => (names.get(id) ? `${names.get(id)}（${id}）` : id)
  let attempts = 0
  return [...events]
    .sort((a, b) => a.version - b.version)
    .map((e) => {
      if (e.event.type === 'ContactRecorded') attempts += 1
      const label = eventLabel(e.event, { attempt: e.event.type === 'ContactRecorded' ? attempts : undefined, officerName })
      return { key: `${e.version}`, at: e.at, actor: actorLabel(e.actor, officerName), ...label }
    })
}

/** The department's latest appeal (ground and argument), for the supervisor deciding it. */
export function latestAppeal(events: readonly TicketEventItem[]): { ground: AppealGround; argument: string; at: string; by: string } | null {
  const found = [...events].sort((a, b) => b.version - a.version).find((e) => e.event.type === 'AppealFiled')
  if (!found) return null
  return { ground: found.event.ground as AppealGround, argument: str(found.event.argument), at: found.at, by: found.actor?.id ?? '' }
}

// --- evidence ----------------------------------------------------------------------------

export const EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
export const EVIDENCE_TYPES: Record<string, string[]> = {
  pdf: ['application/pdf'],
  jpg: ['image/jpeg'],
  jpeg: ['image/jpeg'],
  png: ['image/png'],
  docx: ['application/vnd.openxmlformats-officedocument.wordprocessingml.document'],
  xlsx: ['application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
}
export const EVIDENCE_ACCEPT = Object.keys(EVIDENCE_TYPES).map((e) => '.' + e).join(',')

/** Why a file cannot be evidence (checked before upload; the worker checks again), or null. */
export function checkEvidenceFile(file: { name: string; size: number; type?: string }): string | null {
  const ext = file.name.includes('.') ? file.name.split('.').pop()!.toLowerCase() : ''
  const types = EVIDENCE_TYPES[ext]
  if (!types || (file.type && !types.includes(file.type))) return '不支持的文件类型，仅限 PDF、JPG、PNG、DOCX、XLSX'
  if (file.size > EVIDENCE_MAX_BYTES) return '文件过大，不能超过 10 MB'
  if (file.size === 0) return '文件为空，请重新选择'
  return null
}

// --- the page's state --------------------------------------------------------------------

/** The history is read from the store, which lags the worker's table by one sink batch. */
export function historyBehind(t: Pick<TicketDetail, 'version' | 'events'> | null): boolean {
  if (!t) return false
  const last = Math.max(0, ...(t.events ?? []).map((e) => e.version))
  return last < t.version
}

export const CATCH_UP_MS = 500
export const CATCH_UP_TRIES = 20

export function useTicketDetail(id: () => string) {
  const ticket = shallowRef<TicketDetail | null>(null)
  const loading = ref(false)
  const loadError = ref<string | null>(null)
  /** 403 (another department's ticket) and 404 get a page of their own, not just an alert. */
  const loadStatus = ref<number | null>(null)
  const conflict = ref<string | null>(null)
  const phone = ref<string | null>(null)
  const phoneLoading = ref(false)
  const stale = ref(false)
  let catchUp: ReturnType<typeof setTimeout> | null = null
  let tries = 0

  function stopCatchUp() {
    if (catchUp) clearTimeout(catchUp)
    catchUp = null
  }
  if (getCurrentScope()) onScopeDispose(stopCatchUp)

  /** Re-read quietly until the history shows the version the row has (a few seconds at most). */
  function followHistory() {
    stopCatchUp()
    if (!historyBehind(ticket.value) || tries >= CATCH_UP_TRIES) return
    tries += 1
    const shown = ticket.value!.ticket_id
    catchUp = setTimeout(async () => {
      catchUp = null
      try {
        const t = await getTicket(shown)
        if (ticket.value?.ticket_id === shown && t.version >= ticket.value.version) ticket.value = t
      } catch {
        return // the next load() or refresh shows the error
      }
      followHistory()
    }, CATCH_UP_MS)
  }

  async function load() {
    loading.value = true
    loadError.value = null
    loadStatus.value = null
    tries = 0
    stopCatchUp()
    try {
      ticket.value = await getTicket(id())
      stale.value = false
      followHistory()
    } catch (err) {
      loadError.value = userMessage(err)
      loadStatus.value = err instanceof ApiError ? err.status : null
      if (loadStatus.value === 403 || loadStatus.value === 404) ticket.value = null
    } finally {
      loading.value = false
    }
  }

  /**
   * Send a command with the version on screen. Returns true when accepted; on 409 the ticket is
   * reloaded and the conflict notice shown; other failures are thrown as ApiError for the form.
   */
  async function send(kind: CommandKind, form: CommandForm): Promise<boolean> {
    const t = ticket.value
    if (!t) return false
    conflict.value = null
    try {
      await sendCommand(t.ticket_id, buildCommand(kind, form, t.version))
    } catch (err) {
      if (err instanceof ApiError && err.isConflict) {
        conflict.value = CONFLICT_MESSAGE
        await load()
        return false
      }
      throw err
    }
    phone.value = null
    await load()
    return true
  }

  async function showPhone() {
    const t = ticket.value
    if (!t) return
    phoneLoading.value = true
    try {
      phone.value = (await revealPhone(t.ticket_id)).phone
    } finally {
      phoneLoading.value = false
    }
  }

  async function upload(file: File): Promise<Evidence> {
    const problem = checkEvidenceFile(file)
    if (problem) throw new ApiError(0, 'client_check', problem)
    return uploadEvidence(id(), file)
  }

  /** A stream event for this ticket newer than the version shown. */
  function noteRemoteVersion(version: number) {
    if (ticket.value && version > ticket.value.version) stale.value = true
  }

  const commands = computed(() => visibleCommands(ticket.value?.allowed))
  const timeline = computed(() => (ticket.value ? timelineItems(ticket.value.events ?? [], ticket.value.officers ?? []) : []))

  return { ticket, loading, loadError, loadStatus, conflict, phone, phoneLoading, stale, commands, timeline, load, send, showPhone, upload, noteRemoteVersion }
}

export const commandTitle = (k: CommandKind) => COMMAND_LABELS[k]
