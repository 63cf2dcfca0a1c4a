import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { createPinia } from 'pinia'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createMemoryHistory, createRouter } from 'vue-router'
import { ApiError, messageFor } from '@/utils/errors'

vi.mock('@/api/session', () => ({ signIn: vi.fn(), currentSession: vi.fn(), signOut: vi.fn(), changePassword: vi.fn() }))
import * as sessionApi from '@/api/session'
import LoginPage from '@/views/login/index.vue'
import { reasonNotice, signInError } from '@/views/login/utils/hook'

const signIn = vi.mocked(sessionApi.signIn)

async function mountLogin(query = '') {
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/login', component: LoginPage },
      { path: '/tickets', component: { template: '<div>queue</div>' } },
      { path: '/tickets/:id', component: { template: '<div>detail</div>' } },
    ],
  })
  await router.push('/login' + query)
  await router.isReady()
  const w = mount(LoginPage, { global: { plugins: [createPinia(), router, ElementPlus] }, attachTo: document.body })
  return { w, router }
}

async function fillAndSubmit(w: Awaited<ReturnType<typeof mountLogin>>['w']) {
  await w.find('[data-testid="login-user"] input, input[data-testid="login-user"]').setValue('zhang')
  await w.find('[data-testid="login-password"] input, input[data-testid="login-password"]').setValue('secret-pass')
  await w.find('form').trigger('submit')
  await flushPromises()
}

afterEach(() => {
  signIn.mockReset()
  document.body.innerHTML = ''
})

describe('sign-in page', () => {
  it('shows 账号或密码错误 for bad credentials and clears the password', async () => {
    signIn.mockRejectedValue(new ApiError(401, 'bad_credentials', messageFor('bad_credentials', 401)))
    const { w } = await mountLogin()
    await fillAndSubmit(w)
    expect(signIn).toHaveBeenCalledWith('zhang', 'secret-pass')
    expect(w.find('[data-testid="login-error"]').text()).toContain('账号或密码错误')
    expect((w.find('input[type="password"]').element as HTMLInputElement).value).toBe('')
    w.unmount()
  })

  it('shows how long a locked account waits', async () => {
    signIn.mockRejectedValue(new ApiError(429, 'locked', messageFor('locked', 429, 840), undefined, 840))
    const { w } = await mountLogin()
    await fillAndSubmit(w)
    expect(w.find('[data-testid="login-error"]').text()).toContain('账号已锁定，请 14 分钟后再试')
    w.unmount()
  })

  it('goes where the user was going after signing in', async () => {
    signIn.mockResolvedValue({ actor: { id: 'zhang', role: 'officer', department_id: 'D1' }, csrf_token: 't', expires_at: '' })
    const { w, router } = await mountLogin('?redirect=/tickets/T-9')
    await fillAndSubmit(w)
    expect(router.currentRoute.value.fullPath).toBe('/tickets/T-9')
    w.unmount()
  })

  it('says the session expired when sent here by a 401', async () => {
    const { w } = await mountLogin('?reason=expired')
    expect(w.find('[data-testid="login-notice"]').text()).toContain('会话已过期，请重新登录')
    expect(reasonNotice('signin')).toBeNull()
    expect(signInError(new Error('boom'))).toBe('登录失败，请稍后再试')
    w.unmount()
  })
})
