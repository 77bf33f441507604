/**
 * A small typed event emitter with Node's EventEmitter method names (on/once/off/removeListener/emit/
 * listenerCount/removeAllListeners), usable in browsers without a `node:events` polyfill.
 *
 * Listeners run synchronously in registration order. Listener errors propagate to the emitter, as in Node.
 * Emitting 'error' with no listener throws the error, as in Node.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Listener = (...args: any[]) => void

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EventMap = Record<string, (...args: any[]) => void>

export class Emitter<E extends EventMap = EventMap> {
  private _events: Map<keyof E, Listener[]> = new Map()

  on<K extends keyof E> (event: K, fn: E[K]): this {
    const list = this._events.get(event)
    if (list) list.push(fn)
    else this._events.set(event, [fn])
    return this
  }

  addListener<K extends keyof E> (event: K, fn: E[K]): this {
    return this.on(event, fn)
  }

  once<K extends keyof E> (event: K, fn: E[K]): this {
    const wrapper = ((...args: unknown[]) => {
      this.off(event, wrapper as E[K])
      fn(...args)
    }) as Listener & { listener?: Listener }
    wrapper.listener = fn
    return this.on(event, wrapper as E[K])
  }

  off<K extends keyof E> (event: K, fn: E[K]): this {
    const list = this._events.get(event)
    if (!list) return this
    const i = list.findIndex(l => l === fn || (l as { listener?: Listener }).listener === fn)
    if (i >= 0) {
      if (list.length === 1) this._events.delete(event)
      else list.splice(i, 1)
    }
    return this
  }

  removeListener<K extends keyof E> (event: K, fn: E[K]): this {
    return this.off(event, fn)
  }

  removeAllListeners (event?: keyof E): this {
    if (event === undefined) this._events.clear()
    else this._events.delete(event)
    return this
  }

  listenerCount (event: keyof E): number {
    return this._events.get(event)?.length ?? 0
  }

  emit<K extends keyof E> (event: K, ...args: Parameters<E[K]>): boolean {
    const list = this._events.get(event)
    if (!list) {
      if (event === 'error') throw args[0] instanceof Error ? args[0] : new Error(String(args[0]))
      return false
    }
    if (list.length === 1) {
      list[0](...args)
    } else {
      for (const fn of list.slice()) fn(...args)
    }
    return true
  }
}
