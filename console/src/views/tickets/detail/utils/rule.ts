import type { FormItemRule } from 'element-plus'
import type { CommandKind } from '@/api/types'
import type { CommandForm } from './hook'

/** The worker's text fields are 1–2000 characters (schemas/tickets.py `Text`). */
export const TEXT_MAX = 2000

type Rules = Partial<Record<keyof CommandForm, FormItemRule[]>>

const text = (what: string, required = true): FormItemRule[] => [
  ...(required ? [{ required: true, whitespace: true, message: `请填写${what}`, trigger: 'blur' } as FormItemRule] : []),
  { max: TEXT_MAX, message: `${what}不能超过 ${TEXT_MAX} 字`, trigger: 'blur' },
]

/** The validation rules of a command's form; `form` is read when a rule runs (verdict depends on reached). */
export function commandRules(kind: CommandKind, form: CommandForm): Rules {
  switch (kind) {
    case 'AssignTicket':
      return { officer_id: [{ required: true, message: '请选择承办人', trigger: 'change' }] }
    case 'RecordContact':
      return {
        reached: [
          {
            validator: (_r, v, cb) => (v === true || v === false ? cb() : cb(new Error('请选择是否联系上评价人'))),
            trigger: 'change',
          },
        ],
        verdict: [
          {
            validator: (_r, v, cb) =>
              form.reached === true && v !== '属实' && v !== '不属实' ? cb(new Error('请选择核实结果：属实或不属实')) : cb(),
            trigger: 'change',
          },
        ],
        note: text('回访情况', false),
      }
    case 'RecordRectification':
      return { measures: text('整改措施') }
    case 'GiveFeedback':
      return { message: text('反馈内容') }
    case 'ExplainPolicy':
      return { explanation: text('政策解释内容') }
    case 'FileAppeal':
      return {
        ground: [{ required: true, message: '请选择申诉理由', trigger: 'change' }],
        argument: text('申诉说明'),
      }
    case 'DecideAppeal':
      return {
        upheld: [
          {
            validator: (_r, v, cb) => (v === true || v === false ? cb() : cb(new Error('请选择复核结论'))),
            trigger: 'change',
          },
        ],
        reason: text('复核理由'),
      }
    case 'ClaimTicket':
    case 'CloseTicket':
      return {}
  }
}
