/** A module imported on first use: `load()` imports it once (memoised); `loaded()` gives it once that resolved. */
export interface LazyModule<T> {
  /** The module, imported on the first call; later calls share that import. */
  load: () => Promise<T>
  /** The module once `load()` resolved, else undefined (nothing from the module can exist before then). */
  loaded: () => T | undefined
}

/**
 * A provider SDK imported when a provider that uses it is chosen (its `init()`) or first used, not when
 * llmrtc is imported: each SDK costs from a tenth of a second to seconds of CPU at import, which every app
 * start and every process that registers llmrtc would otherwise pay for SDKs it never uses.
 */
export function lazyModule<T> (importer: () => Promise<T>): LazyModule<T> {
  let loaded: T | undefined
  let loading: Promise<T> | undefined
  return {
    load: async () => {
      loading ??= importer().then((module) => { loaded = module; return module })
      return await loading
    },
    loaded: () => loaded
  }
}

/** `create()`'s result, created on the first call and shared by later calls (a client built once the SDK loaded). */
export function once<T> (create: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined
  return async () => {
    value ??= create()
    return await value
  }
}
