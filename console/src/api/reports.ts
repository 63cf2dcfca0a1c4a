import { http } from '@/utils/http'
import { apiPath } from './paths'
import type { MonthlyReport } from './types'

export const monthlyReport = (month: string, asOf?: string) =>
  http.get<MonthlyReport>(apiPath('reportsMonthly'), { month, as_of: asOf })
