import type { EChartsOption } from 'echarts'
import type { ScopeRow } from '@/api/types'
import { formatNumber, formatPercent } from '@/utils/format'

export interface RateDatum {
  department: string
  /** percent, 0–100, one decimal */
  rate: number
  bad: number
  closed: number
}

/** Departments with bad reviews (the rate is undefined without any), worst rate first. */
export function rectificationDataset(departments: readonly ScopeRow[]): RateDatum[] {
  return departments
    .filter((d) => d.bad_count > 0 && d.rectification_rate != null)
    .map((d) => ({
      department: d.name || d.id,
      rate: Math.round((d.rectification_rate as number) * 1000) / 10,
      bad: d.bad_count,
      closed: d.closed,
    }))
    .sort((a, b) => a.rate - b.rate || b.bad - a.bad || a.department.localeCompare(b.department, 'zh-CN'))
}

interface TooltipParam {
  data?: RateDatum
}

export const rateTooltip = (params: TooltipParam | TooltipParam[]): string => {
  const p = Array.isArray(params) ? params[0] : params
  const d = p?.data
  if (!d) return ''
  return `${d.department}<br/>差评整改率：${formatPercent(d.rate / 100)}<br/>差评 ${formatNumber(d.bad)} 件，已办结 ${formatNumber(d.closed)} 件`
}

/**
 * The bar chart of 差评整改率 per department (horizontal: long Chinese names stay readable on a
 * tablet), from a dataset, with the 100% target as a line. Bars under target are orange.
 */
export function buildRectificationOption(departments: readonly ScopeRow[]): EChartsOption {
  const source = rectificationDataset(departments)
  return {
    dataset: { dimensions: ['department', 'rate', 'bad', 'closed'], source: source as unknown as Record<string, unknown>[] },
    grid: { left: 8, right: 56, top: 28, bottom: 8, containLabel: true },
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, formatter: rateTooltip as never },
    xAxis: {
      type: 'value',
      min: 0,
      max: 100,
      axisLabel: { formatter: (v: number) => `${formatNumber(v)}%` },
    },
    yAxis: { type: 'category', inverse: true, axisLabel: { width: 140, overflow: 'truncate' } },
    series: [
      {
        type: 'bar',
        name: '差评整改率',
        encode: { x: 'rate', y: 'department' },
        barMaxWidth: 22,
        itemStyle: {
          color: (p: { data?: unknown }) => ((p.data as RateDatum | undefined)?.rate ?? 0) >= 100 ? '#15803d' : '#c2410c',
        },
        label: {
          show: true,
          position: 'right',
          formatter: (p: { data?: unknown }) => formatPercent(((p.data as RateDatum | undefined)?.rate ?? 0) / 100),
        },
        markLine: {
          symbol: 'none',
          silent: true,
          lineStyle: { color: '#1d4ed8', type: 'dashed' },
          label: { formatter: '目标 100%', position: 'start' },
          data: [{ xAxis: 100 }],
        },
      },
    ],
  }
}

/** Chart height grows with the number of departments so bars never crowd (28 px each). */
export const chartHeight = (n: number) => `${Math.max(160, 48 + n * 28)}px`

/** The previous month as YYYY-MM: on the 1st the report of interest is last month's. */
export function defaultReportMonth(current: string): string {
  const [y, m] = current.split('-').map(Number)
  return m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`
}
