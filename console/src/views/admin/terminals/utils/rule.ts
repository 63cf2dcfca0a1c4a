import type { FormItemRule } from 'element-plus'
import type { TerminalKind } from '@/api/types'

export const TERMINAL_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{1,63}$/

/** A window's evaluation pad sits at one window; the others serve a whole hall. */
export const needsWindow = (kind: TerminalKind | '') => kind === 'pad'

export interface TerminalForm {
  terminal_id: string
  kind: TerminalKind | ''
  hall_id: string
  window_id: string
}

export function terminalRules(form: TerminalForm, windowInHall: (windowId: string, hallId: string) => boolean): Record<string, FormItemRule[]> {
  return {
    terminal_id: [
      { required: true, whitespace: true, message: '请输入终端编号', trigger: 'blur' },
      { pattern: TERMINAL_ID_PATTERN, message: '终端编号为 2–64 位字母、数字、点、冒号、下划线或短横线', trigger: 'blur' },
    ],
    kind: [{ required: true, message: '请选择终端类型', trigger: 'change' }],
    hall_id: [{ required: true, message: '请选择所在大厅', trigger: 'change' }],
    window_id: [
      {
        validator: (_r, v: string, cb) => {
          if (!v) return needsWindow(form.kind) ? cb(new Error('窗口评价器须选择所在窗口')) : cb()
          return windowInHall(v, form.hall_id) ? cb() : cb(new Error('所选窗口不在该大厅'))
        },
        trigger: 'change',
      },
    ],
  }
}
