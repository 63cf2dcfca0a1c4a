// Shapes of the worker's answers, exactly as console/API.md states them.

export type Role = 'officer' | 'supervisor' | 'manager' | 'admin'

export interface Actor {
  id: string
  role: Role
  department_id: string | null
}

export interface SessionInfo {
  actor: Actor
  /** the person's name from the users file, when one was given */
  name?: string | null
  csrf_token: string
  expires_at: string
}

export type TicketStatus =
  | 'opened'
  | 'assigned'
  | 'contacted'
  | 'rectified'
  | 'feedback_given'
  | 'explained'
  | 'appealed'
  | 'closed'
  | 'invalidated'

export type Stage = 'contact' | 'resolve'

export type CommandKind =
  | 'AssignTicket'
  | 'ClaimTicket'
  | 'RecordContact'
  | 'RecordRectification'
  | 'GiveFeedback'
  | 'CloseTicket'
  | 'ExplainPolicy'
  | 'FileAppeal'
  | 'DecideAppeal'

export type Verdict = '属实' | '不属实'
export type AppealGround = 'mistaken' | 'malicious'

export interface TicketRow {
  ticket_id: string
  version: number
  status: TicketStatus
  review_id: string
  hall_id: string
  window_id: string
  department_id: string
  rating: number
  real_name: boolean
  happened_at: string
  opened_at: string
  contact_due: string | null
  resolve_due: string | null
  officer_id: string | null
  contact_attempts: number
  contacted_at: string | null
  verdict: Verdict | null
  rectified_at: string | null
  feedback_at: string | null
  explained_at: string | null
  closed_at: string | null
  resolution: 'rectified' | 'explained' | null
  appeal: unknown
  invalidated_reason: string | null
  reopen_count: number
  warned: string[]
  escalated: string[]
  reasons: string[]
  next_due: string | null
  time_left_seconds: number | null
  overdue: boolean
}

export interface TicketList {
  tickets: TicketRow[]
  total: number
  counts: Partial<Record<TicketStatus, number>>
  at: string
}

export interface TicketQuery {
  state?: TicketStatus | ''
  window?: string
  overdue?: boolean | null
  month?: string
  q?: string
  escalated?: boolean | null
  department?: string
  limit?: number
  offset?: number
}

export interface Review {
  rating: number
  reasons: string[]
  comment: string | null
  window_id: string
  hall_id: string
  staff_id: string | null
  item_name: string | null
  case_no: string | null
  real_name: boolean
  phone: string | null
  happened_at: string
}

/** One event as the detail endpoint lists it; `event` carries the type's own fields. */
export interface TicketEventItem {
  version: number
  at: string
  actor: { id: string; role: string }
  event: { type: string; [field: string]: unknown }
}

export interface Evidence {
  sha256: string
  name: string
  size: number
  content_type: string
  uploaded_by: string
  uploaded_at: string
}

export interface Officer {
  id: string
  name: string
}

export interface TicketDetail extends TicketRow {
  review: Review
  events: TicketEventItem[]
  allowed: string[]
  working_days_left: { contact: number | null; resolve: number | null }
  evidence: Evidence[]
  officers: Officer[]
}

export type CommandBody =
  | { kind: 'AssignTicket'; officer_id: string }
  | { kind: 'ClaimTicket' }
  | { kind: 'RecordContact'; reached: boolean; verdict: Verdict | null; note: string }
  | { kind: 'RecordRectification'; measures: string; evidence: string[] }
  | { kind: 'GiveFeedback'; message: string }
  | { kind: 'CloseTicket' }
  | { kind: 'ExplainPolicy'; explanation: string }
  | { kind: 'FileAppeal'; ground: AppealGround; argument: string }
  | { kind: 'DecideAppeal'; upheld: boolean; reason: string }

export type Command = CommandBody & { expected_version: number }

export interface CommandOutcome {
  status: 'accepted' | 'duplicate'
  ticket_id: string
  version: number
  events: unknown[]
}

export interface StreamEvent {
  ticket_id: string
  version: number
  status: TicketStatus
  department_id: string
  type: string
}

// --- admin -------------------------------------------------------------------------------

export interface User {
  id: string
  role: Role
  department_id: string | null
  disabled: boolean
  has_password: boolean
  created_at: string
}

export interface NewUser {
  id: string
  role: Role
  department_id?: string
  password?: string
}

export type TerminalKind = 'pad' | 'kiosk' | 'qr' | 'app' | 'hotline'

export interface Terminal {
  terminal_id: string
  kind: TerminalKind
  hall_id: string
  window_id: string | null
  status: string
  registered_at: string
}

export interface NewTerminal {
  terminal_id: string
  kind: TerminalKind
  hall_id: string
  window_id: string | null
}

export interface Hall {
  id: string
  name: string
}
export interface Department {
  id: string
  name: string
}
export interface Window {
  id: string
  name: string
  hall_id: string
  department_id: string
}
export interface Directory {
  halls: Hall[]
  departments: Department[]
  windows: Window[]
}

export interface DeadlineSettings {
  contact_working_days: number
  resolve_working_days: number
  warn_percents: number[]
  timezone: string
}

// --- reports (docs/report.md, schema_version 1) ------------------------------------------

export interface ScopeRow {
  scope: 'total' | 'department' | 'window'
  id: string
  name: string
  department_id?: string | null
  hall_id?: string | null
  reviews: number
  good_rate: number | null
  bad_count: number
  bad_rate: number | null
  satisfaction: number | null
  closed: number
  rectification_rate: number | null
  on_time_rate: number | null
  return_visit_rate: number | null
  mean_days_to_close: number | null
}

export interface OpenTicketRow {
  ticket_id: string | null
  review_id: string
  department_id: string
  department_name: string
  window_id: string
  window_name: string
  rating: number
  reasons: string[]
  happened_at: string
  resolve_due: string | null
  stage: string
  stage_label: string
  contacted: boolean
  overdue: boolean
  escalated: boolean
  working_days_open: number | null
}

export interface MonthlyReport {
  schema_version: number
  title: string
  month: string
  as_of: string
  timezone: string
  totals: ScopeRow
  departments: ScopeRow[]
  windows: ScopeRow[]
  open_tickets: OpenTicketRow[]
  carry_over: unknown[]
  notes: { late_reviews: number; invalidated: number; open_tickets: number; overdue_tickets: number; carry_over: number }
}
