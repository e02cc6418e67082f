/** A small typed event emitter (no dependency on Node's EventEmitter or the DOM's EventTarget). */

export type Listener<T> = (event: T) => void;

export class Emitter<M extends object> {
  private listeners = new Map<keyof M, Set<Listener<never>>>();

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof M>(type: K, listener: Listener<M[K]>): () => void {
    let set = this.listeners.get(type);
    if (!set) {
      set = new Set();
      this.listeners.set(type, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(type, listener);
  }

  /** Removes a listener added with `on` (or `once`, given the same function). */
  off<K extends keyof M>(type: K, listener: Listener<M[K]>): void {
    const set = this.listeners.get(type);
    if (!set) return;
    if (!set.delete(listener as Listener<never>)) {
      for (const l of set) {
        if ((l as { original?: unknown }).original === listener) {
          set.delete(l);
          break;
        }
      }
    }
    if (set.size === 0) this.listeners.delete(type);
  }

  /**
   * Listens for the next event only. Without a listener, returns a promise of
   * that event instead.
   */
  once<K extends keyof M>(type: K): Promise<M[K]>;
  once<K extends keyof M>(type: K, listener: Listener<M[K]>): () => void;
  once<K extends keyof M>(type: K, listener?: Listener<M[K]>): (() => void) | Promise<M[K]> {
    if (!listener) {
      return new Promise<M[K]>((resolve) => {
        this.once(type, resolve);
      });
    }
    const wrapper = ((event: M[K]) => {
      this.off(type, wrapper);
      listener(event);
    }) as Listener<M[K]> & { original?: unknown };
    wrapper.original = listener;
    return this.on(type, wrapper);
  }

  /** Number of listeners for a type. */
  listenerCount(type: keyof M): number {
    return this.listeners.get(type)?.size ?? 0;
  }

  protected emit<K extends keyof M>(type: K, event: M[K]): void {
    const set = this.listeners.get(type);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<M[K]>)(event);
      } catch (err) {
        // A throwing listener must not break the client's own bookkeeping:
        // report it asynchronously, like a DOM event listener would.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
