// Chinese labels for every machine value the console shows.
import type { AppealGround, CommandKind, Role, Stage, TerminalKind, TicketStatus } from '@/api/types'

export const STATUS_ORDER: TicketStatus[] = [
  'opened',
  'assigned',
  'contacted',
  'rectified',
  'feedback_given',
  'explained',
  'appealed',
  'closed',
  'invalidated',
]

export const STATUS_LABELS: Record<TicketStatus, string> = {
  opened: '待分派',
  assigned: '已分派',
  contacted: '已回访',
  rectified: '已整改',
  feedback_given: '已反馈',
  explained: '已解释',
  appealed: '申诉中',
  closed: '已办结',
  invalidated: '已作废',
}

/** Element Plus tag type per state: open work is blue/orange, done is green, void is grey. */
export const STATUS_TAG: Record<TicketStatus, 'primary' | 'success' | 'warning' | 'danger' | 'info'> = {
  opened: 'danger',
  assigned: 'warning',
  contacted: 'primary',
  rectified: 'primary',
  feedback_given: 'primary',
  explained: 'primary',
  appealed: 'warning',
  closed: 'success',
  invalidated: 'info',
}

export const statusLabel = (s: string): string => STATUS_LABELS[s as TicketStatus] ?? s

export const RATING_LABELS: Record<number, string> = {
  1: '非常不满意',
  2: '不满意',
  3: '基本满意',
  4: '满意',
  5: '非常满意',
}
export const ratingLabel = (r: number | null | undefined): string => (r != null && RATING_LABELS[r]) || '—'

export const ROLE_LABELS: Record<Role, string> = {
  officer: '整改责任人',
  supervisor: '督办复核',
  manager: '统计查看',
  admin: '系统管理员',
}
export const roleLabel = (r: string): string => ROLE_LABELS[r as Role] ?? r

export const STAGE_LABELS: Record<Stage, string> = { contact: '回访', resolve: '整改反馈' }
export const stageLabel = (s: string): string => STAGE_LABELS[s as Stage] ?? s

export const GROUND_LABELS: Record<AppealGround, string> = { mistaken: '误评', malicious: '恶意评价' }
export const groundLabel = (g: string): string => GROUND_LABELS[g as AppealGround] ?? g

export const RESOLUTION_LABELS: Record<string, string> = { rectified: '整改办结', explained: '解释办结' }

export const COMMAND_LABELS: Record<CommandKind, string> = {
  ClaimTicket: '认领',
  AssignTicket: '分派',
  RecordContact: '回访',
  RecordRectification: '整改',
  GiveFeedback: '反馈',
  CloseTicket: '办结',
  ExplainPolicy: '政策解释',
  FileAppeal: '申诉',
  DecideAppeal: '复核',
}

export const TERMINAL_KIND_LABELS: Record<TerminalKind, string> = {
  pad: '窗口评价器',
  kiosk: '自助终端',
  qr: '二维码',
  app: '移动端',
  hotline: '12345 热线',
}
export const terminalKindLabel = (k: string): string => TERMINAL_KIND_LABELS[k as TerminalKind] ?? k

export const TERMINAL_STATUS_LABELS: Record<string, string> = {
  active: '正常',
  revoked: '已吊销',
  pending: '待配对',
}
export const terminalStatusLabel = (s: string): string => TERMINAL_STATUS_LABELS[s] ?? s
