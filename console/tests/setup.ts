import Schema from 'async-validator'

// async-validator logs every failed rule to the console; the tests read the failures themselves.
Schema.warning = () => {}

// Element Plus measures elements with ResizeObserver, which jsdom lacks.
if (!('ResizeObserver' in globalThis)) {
  class ResizeObserverStub {
    observe() {}
    unobserve() {}
    disconnect() {}
  }
  ;(globalThis as Record<string, unknown>).ResizeObserver = ResizeObserverStub
}
