import { http } from '@/utils/http'
import { apiPath } from './paths'
import type { Command, CommandOutcome, Evidence, TicketDetail, TicketList, TicketQuery } from './types'

export const PAGE_SIZE = 50

export function listTickets(query: TicketQuery, signal?: AbortSignal) {
  const { overdue, escalated, ...rest } = query
  return http.get<TicketList>(
    apiPath('tickets'),
    {
      ...rest,
      overdue: overdue == null ? undefined : String(overdue),
      escalated: escalated ? 'true' : undefined,
      limit: query.limit ?? PAGE_SIZE,
      offset: query.offset ?? 0,
    },
    { signal },
  )
}

/** The row from the worker's own table (`fresh`): the same state the allowed commands are judged on,
 * also right after this console's own command; the history comes from the store and may lag. */
export const getTicket = (id: string) => http.get<TicketDetail>(apiPath('ticket', { id }), { fresh: 'true' })

export const sendCommand = (id: string, command: Command) =>
  http.post<CommandOutcome>(apiPath('ticketCommands', { id }), command)

export const revealPhone = (id: string) =>
  http.post<{ phone: string; recorded: boolean }>(apiPath('ticketPhone', { id }))

export function uploadEvidence(id: string, file: File) {
  const form = new FormData()
  form.append('file', file, file.name)
  return http.post<Evidence>(apiPath('ticketEvidence', { id }), form, { timeoutMs: 120_000 })
}

export const evidenceUrl = (id: string, sha256: string) => apiPath('ticketEvidenceFile', { id, sha256 })

export const streamUrl = () => apiPath('ticketStream')
