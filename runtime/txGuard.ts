/**
 * The transaction handle a `transaction: true` step receives is guarded: once the attempt
 * has ended (finished, timed out, lost its claim, shut down), every use throws. A body that
 * keeps running after an interruption can then never write outside its transaction, or into
 * whichever transaction reuses the same pooled connection next.
 */

/** Wraps a driver handle (a function with methods, or an object) so it refuses use once closed. */
export const guardHandle = (handle: unknown): { readonly handle: unknown; readonly close: () => void } => {
  if (handle === null || (typeof handle !== "object" && typeof handle !== "function")) return { handle, close: () => undefined }
  let closed = false
  const refuse = () => {
    throw new Error("this step's transaction has ended (the attempt finished or was interrupted): ctx.sql can no longer be used")
  }
  const proxy = new Proxy(handle as object, {
    apply(target, thisArg, args) {
      if (closed) refuse()
      return Reflect.apply(target as (...a: Array<unknown>) => unknown, thisArg, args)
    },
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target)
      if (typeof value !== "function") return value
      return function (this: unknown, ...args: Array<unknown>) {
        if (closed) refuse()
        return Reflect.apply(value as (...a: Array<unknown>) => unknown, target, args)
      }
    },
  })
  return { handle: proxy, close: () => void (closed = true) }
}
