import type { QueueFilters } from '@/views/tickets/queue/utils/hook'

export type SupervisorTab = 'appeals' | 'overdue' | 'escalated'

export const SUPERVISOR_TABS: { name: SupervisorTab; label: string }[] = [
  { name: 'appeals', label: '申诉待复核' },
  { name: 'overdue', label: '超期工单' },
  { name: 'escalated', label: '已督办' },
]

/** The list filters behind each tab (all departments: the supervisor's scope). */
export function tabFilters(tab: SupervisorTab): Partial<QueueFilters> {
  switch (tab) {
    case 'appeals':
      return { state: 'appealed', overdue: '', escalated: false }
    case 'overdue':
      return { state: '', overdue: 'true', escalated: false }
    case 'escalated':
      return { state: '', overdue: '', escalated: true }
  }
}

/** Tickets whose officer can still be changed by a supervisor (not closed nor void). */
export const reassignable = (status: string) => status !== 'closed' && status !== 'invalidated'
