// Formatting of times, durations and numbers for people in a Chinese service hall.

export const TIME_ZONE = 'Asia/Shanghai'

const MINUTE = 60
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/** A duration as its two largest units: "1 天 3 小时", "2 小时", "45 分钟", "不足 1 分钟". */
export function humanDuration(seconds: number): string {
  const s = Math.floor(Math.abs(seconds))
  const days = Math.floor(s / DAY)
  const hours = Math.floor((s % DAY) / HOUR)
  const minutes = Math.floor((s % HOUR) / MINUTE)
  if (days > 0) return hours > 0 ? `${days} 天 ${hours} 小时` : `${days} 天`
  if (hours > 0) return minutes > 0 ? `${hours} 小时 ${minutes} 分钟` : `${hours} 小时`
  if (minutes > 0) return `${minutes} 分钟`
  return '不足 1 分钟'
}

export interface TimeLeft {
  text: string
  overdue: boolean
}

/** "剩 1 天 3 小时" while time is left, "超期 2 小时" once the deadline has passed; null: no deadline. */
export function formatTimeLeft(seconds: number | null | undefined): TimeLeft {
  if (seconds == null || !Number.isFinite(seconds)) return { text: '—', overdue: false }
  if (seconds < 0) return { text: `超期 ${humanDuration(seconds)}`, overdue: true }
  return { text: `剩 ${humanDuration(seconds)}`, overdue: false }
}

/**
 * The server's time_left_seconds was true at the list's `at`; the page keeps it current with the
 * clock of the browser measured from when the list arrived (not the browser's wall clock against
 * the server's, which may disagree).
 */
export function timeLeftNow(seconds: number | null | undefined, receivedAtMs: number, nowMs: number): number | null {
  if (seconds == null) return null
  return seconds - Math.max(0, nowMs - receivedAtMs) / 1000
}

const dateTimeFmt = new Intl.DateTimeFormat('zh-CN', {
  timeZone: TIME_ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hour12: false,
})

/** "2021-05-06 14:30" in the halls' time zone; "—" for nothing. */
export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return '—'
  const parts = Object.fromEntries(dateTimeFmt.formatToParts(d).map((p) => [p.type, p.value]))
  const hour = parts.hour === '24' ? '00' : parts.hour
  return `${parts.year}-${parts.month}-${parts.day} ${hour}:${parts.minute}`
}

const numberFmt = new Intl.NumberFormat('zh-CN', { maximumFractionDigits: 2 })
const percentFmt = new Intl.NumberFormat('zh-CN', { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 })

export const formatNumber = (n: number | null | undefined): string => (n == null ? '—' : numberFmt.format(n))

/** A fraction (0.875) as "87.5%"; null (undefined rate, e.g. no bad reviews) as "—". */
export const formatPercent = (f: number | null | undefined): string => (f == null ? '—' : percentFmt.format(f))

/** Working days left (may be fractional or negative) as "1.5 个工作日" / "超期 0.5 个工作日". */
export function formatWorkingDays(days: number | null | undefined): string {
  if (days == null) return '—'
  const n = new Intl.NumberFormat('zh-CN', { maximumFractionDigits: 1 }).format(Math.abs(days))
  return days < 0 ? `超期 ${n} 个工作日` : `剩 ${n} 个工作日`
}

export function formatBytes(size: number): string {
  if (size < 1024) return `${size} B`
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KB`
  return `${(size / 1024 / 1024).toFixed(1)} MB`
}

/** The current month as YYYY-MM in the halls' time zone. */
export function currentMonth(now: Date = new Date()): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone: TIME_ZONE, year: 'numeric', month: '2-digit' })
      .formatToParts(now)
      .map((p) => [p.type, p.value]),
  )
  return `${parts.year}-${parts.month}`
}
