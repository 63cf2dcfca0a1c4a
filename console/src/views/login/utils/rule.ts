import type { FormItemRule } from 'element-plus'

/** API.md names no password policy; 8 characters is the console's floor (assumption). */
export const PASSWORD_MIN = 8
export const PASSWORD_MAX = 128

export const loginRules: Record<string, FormItemRule[]> = {
  user_id: [{ required: true, whitespace: true, message: '请输入账号', trigger: 'blur' }],
  password: [{ required: true, message: '请输入密码', trigger: 'blur' }],
}

export function newPasswordRules(newPassword: () => string): Record<string, FormItemRule[]> {
  return {
    new_password: [
      { required: true, message: '请输入新密码', trigger: 'blur' },
      { min: PASSWORD_MIN, max: PASSWORD_MAX, message: `密码长度为 ${PASSWORD_MIN}–${PASSWORD_MAX} 个字符`, trigger: 'blur' },
    ],
    confirm: [
      { required: true, message: '请再次输入新密码', trigger: 'blur' },
      {
        validator: (_rule, value, callback) =>
          value === newPassword() ? callback() : callback(new Error('两次输入的密码不一致')),
        trigger: 'blur',
      },
    ],
  }
}

export function passwordChangeRules(newPassword: () => string): Record<string, FormItemRule[]> {
  return {
    old_password: [{ required: true, message: '请输入原密码', trigger: 'blur' }],
    ...newPasswordRules(newPassword),
  }
}
