import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import * as api from '@/api/session'
import type { Actor, SessionInfo } from '@/api/types'
import { ApiError } from '@/utils/errors'
import { setCsrfToken } from '@/utils/http'

/** Who is signed in. The cookie is HttpOnly, so the session is learnt from GET /session. */
export const useSessionStore = defineStore('session', () => {
  const actor = ref<Actor | null>(null)
  const expiresAt = ref<string | null>(null)
  const name = ref<string | null>(null)
  const loaded = ref(false)
  let probing: Promise<Actor | null> | null = null

  function apply(info: SessionInfo | null) {
    actor.value = info?.actor ?? null
    name.value = info?.name ?? null
    expiresAt.value = info?.expires_at ?? null
    setCsrfToken(info?.csrf_token ?? null)
    loaded.value = true
  }

  /** Ask the worker once per page load (or again after clear()); 401 means signed out. */
  function ensureLoaded(): Promise<Actor | null> {
    if (loaded.value) return Promise.resolve(actor.value)
    probing ??= api
      .currentSession()
      .then((info) => {
        apply(info)
        return actor.value
      })
      .catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 401) {
          apply(null)
          return null
        }
        throw err
      })
      .finally(() => {
        probing = null
      })
    return probing
  }

  async function signIn(userId: string, password: string): Promise<Actor> {
    const info = await api.signIn(userId, password)
    apply(info)
    return info.actor
  }

  async function signOut(): Promise<void> {
    try {
      await api.signOut()
    } finally {
      apply(null)
    }
  }

  /** Forget the session locally (after a 401) without asking the worker. */
  function clear() {
    apply(null)
  }

  const role = computed(() => actor.value?.role ?? null)

  return { actor, name, role, expiresAt, loaded, ensureLoaded, signIn, signOut, clear }
})
