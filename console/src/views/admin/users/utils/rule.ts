import type { FormItemRule } from 'element-plus'
import type { Role } from '@/api/types'
import { PASSWORD_MAX, PASSWORD_MIN } from '@/views/login/utils/rule'

export const USER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$/

/** Officers act for one department, so they need one; other roles see all departments. */
export const needsDepartment = (role: Role | '' | null | undefined) => role === 'officer'

export interface UserForm {
  id: string
  role: Role | ''
  department_id: string
  password: string
}

export function userRules(form: UserForm, creating: boolean): Record<string, FormItemRule[]> {
  return {
    id: creating
      ? [
          { required: true, whitespace: true, message: '请输入账号', trigger: 'blur' },
          { pattern: USER_ID_PATTERN, message: '账号为 2–64 位字母、数字、点、下划线或短横线', trigger: 'blur' },
        ]
      : [],
    role: [{ required: true, message: '请选择角色', trigger: 'change' }],
    department_id: [
      {
        validator: (_r, v, cb) => (needsDepartment(form.role) && !v ? cb(new Error('整改责任人须选择所属部门')) : cb()),
        trigger: 'change',
      },
    ],
    password: [
      {
        validator: (_r, v: string, cb) =>
          v && (v.length < PASSWORD_MIN || v.length > PASSWORD_MAX)
            ? cb(new Error(`密码长度为 ${PASSWORD_MIN}–${PASSWORD_MAX} 个字符；留空则生成设置密码链接`))
            : cb(),
        trigger: 'blur',
      },
    ],
  }
}
