import type { Directory } from '@/api/types'

export type Table = 'halls' | 'departments' | 'windows'

export interface Problem {
  table: Table
  row: number
  message: string
}

export const TABLE_LABEL: Record<Table, string> = { halls: '大厅', departments: '部门', windows: '窗口' }
/** The editor's tabs, in the order they are shown. */
export const TABLES: readonly Table[] = ['windows', 'halls', 'departments']

export const problemText = (p: Problem) => `${TABLE_LABEL[p.table]}第 ${p.row + 1} 行：${p.message}`

/** What the directory editor checks before PUT (the worker checks again and lists its own). */
export function validateDirectory(d: Directory): Problem[] {
  const problems: Problem[] = []
  const checkIds = (table: Table, rows: { id: string; name: string }[]) => {
    const seen = new Map<string, number>()
    rows.forEach((r, i) => {
      const id = r.id.trim()
      if (!id) problems.push({ table, row: i, message: '编号不能为空' })
      else if (/\s/.test(id)) problems.push({ table, row: i, message: '编号不能含空格' })
      else if (seen.has(id)) problems.push({ table, row: i, message: `编号 ${id} 与第 ${seen.get(id)! + 1} 行重复` })
      else seen.set(id, i)
      if (!r.name.trim()) problems.push({ table, row: i, message: '名称不能为空' })
    })
  }
  checkIds('halls', d.halls)
  checkIds('departments', d.departments)
  checkIds('windows', d.windows)
  const halls = new Set(d.halls.map((h) => h.id.trim()))
  const departments = new Set(d.departments.map((x) => x.id.trim()))
  d.windows.forEach((w, i) => {
    if (!halls.has(w.hall_id)) problems.push({ table: 'windows', row: i, message: '请选择所属大厅' })
    if (!departments.has(w.department_id)) problems.push({ table: 'windows', row: i, message: '请选择责任部门' })
  })
  return problems
}

/** A trimmed deep copy: what is sent and what the editor works on. */
export function cleanDirectory(d: Directory): Directory {
  return {
    halls: d.halls.map((h) => ({ id: h.id.trim(), name: h.name.trim() })),
    departments: d.departments.map((x) => ({ id: x.id.trim(), name: x.name.trim() })),
    windows: d.windows.map((w) => ({ id: w.id.trim(), name: w.name.trim(), hall_id: w.hall_id, department_id: w.department_id })),
  }
}
