import { describe, expect, it } from 'vitest'
import {
  currentMonth,
  formatBytes,
  formatDateTime,
  formatPercent,
  formatTimeLeft,
  formatWorkingDays,
  humanDuration,
  timeLeftNow,
} from '@/utils/format'

const H = 3600
const D = 24 * H

describe('time left', () => {
  it('shows days and hours while time is left', () => {
    expect(formatTimeLeft(1 * D + 3 * H + 59)).toEqual({ text: '剩 1 天 3 小时', overdue: false })
  })
  it('drops a zero second unit', () => {
    expect(formatTimeLeft(2 * D)).toEqual({ text: '剩 2 天', overdue: false })
    expect(formatTimeLeft(5 * H)).toEqual({ text: '剩 5 小时', overdue: false })
  })
  it('shows hours and minutes under a day, minutes under an hour', () => {
    expect(formatTimeLeft(3 * H + 20 * 60)).toEqual({ text: '剩 3 小时 20 分钟', overdue: false })
    expect(formatTimeLeft(45 * 60 + 30)).toEqual({ text: '剩 45 分钟', overdue: false })
    expect(formatTimeLeft(30).text).toBe('剩 不足 1 分钟')
  })
  it('says 超期 and flags overdue once the deadline has passed', () => {
    expect(formatTimeLeft(-2 * H)).toEqual({ text: '超期 2 小时', overdue: true })
    expect(formatTimeLeft(-(3 * D + 1 * H))).toEqual({ text: '超期 3 天 1 小时', overdue: true })
    expect(formatTimeLeft(-1).overdue).toBe(true)
  })
  it('a ticket without a deadline shows a dash', () => {
    expect(formatTimeLeft(null)).toEqual({ text: '—', overdue: false })
    expect(formatTimeLeft(undefined)).toEqual({ text: '—', overdue: false })
    expect(formatTimeLeft(Number.NaN).text).toBe('—')
  })
  it('floors rather than rounds (never promises time that is not there)', () => {
    expect(humanDuration(D - 1)).toBe('23 小时 59 分钟')
    expect(humanDuration(-(H - 1))).toBe('59 分钟')
  })
  it('keeps time left current from when the list arrived', () => {
    expect(timeLeftNow(600, 1_000_000, 1_000_000 + 90_000)).toBe(510)
    expect(timeLeftNow(60, 5_000, 125_000)).toBe(-60)
    expect(timeLeftNow(null, 0, 1)).toBeNull()
    // a clock that went backwards never adds time
    expect(timeLeftNow(100, 10_000, 5_000)).toBe(100)
  })
})

describe('dates and numbers', () => {
  it('formats times in the halls’ time zone (Asia/Shanghai)', () => {
    expect(formatDateTime('2021-05-06T06:30:00Z')).toBe('2021-05-06 14:30')
    expect(formatDateTime('2021-04-30T16:05:00Z')).toBe('2021-05-01 00:05')
    expect(formatDateTime(null)).toBe('—')
    expect(formatDateTime('not a date')).toBe('—')
  })
  it('formats rates as Chinese percentages with one decimal', () => {
    expect(formatPercent(0.875)).toBe('87.5%')
    expect(formatPercent(1)).toBe('100.0%')
    expect(formatPercent(null)).toBe('—')
  })
  it('formats working days left', () => {
    expect(formatWorkingDays(1.5)).toBe('剩 1.5 个工作日')
    expect(formatWorkingDays(-0.25)).toBe('超期 0.3 个工作日')
    expect(formatWorkingDays(null)).toBe('—')
  })
  it('formats sizes and the current month', () => {
    expect(formatBytes(512)).toBe('512 B')
    expect(formatBytes(10 * 1024 * 1024)).toBe('10.0 MB')
    // 2021-05-31 17:00 UTC is already June in Beijing
    expect(currentMonth(new Date('2021-05-31T17:00:00Z'))).toBe('2021-06')
  })
})
