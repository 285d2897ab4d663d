/**
 * Natural batching of writes: while a batch is in flight, new requests queue; the next
 * statement carries all of them (up to `maxBatch`). An idle store sends at once, so no
 * latency is added; a busy one pays one transaction (and one fsync) per batch instead of
 * per request. Requests with the same key never share a batch (the SQL assumes one commit
 * per run), they wait for the next one.
 */
interface Pending<I, O> {
  readonly item: I
  readonly resolve: (o: O) => void
  readonly reject: (e: unknown) => void
}

/** A batching front for `send`, which must return one result per item, in order. */
export const makeBatcher = <I, O>(options: {
  /** Items sharing any key never share a batch (a commit's run, and its parent's). */
  readonly keys: (item: I) => ReadonlyArray<string>
  readonly send: (items: ReadonlyArray<I>) => Promise<ReadonlyArray<O>>
  readonly maxBatch: number
  readonly maxInFlight: number
}) => {
  const queue: Array<Pending<I, O>> = []
  let inFlight = 0

  const pump = (): void => {
    while (inFlight < options.maxInFlight && queue.length > 0) {
      const batch: Array<Pending<I, O>> = []
      const keys = new Set<string>()
      for (let i = 0; i < queue.length && batch.length < options.maxBatch; ) {
        const own = options.keys(queue[i]!.item)
        if (own.some((k) => keys.has(k))) {
          i++
          continue
        }
        for (const k of own) keys.add(k)
        batch.push(queue.splice(i, 1)[0]!)
      }
      inFlight++
      options
        .send(batch.map((p) => p.item))
        .then(
          (results) => batch.forEach((p, i) => p.resolve(results[i]!)),
          (error) => batch.forEach((p) => p.reject(error)),
        )
        .finally(() => {
          inFlight--
          pump()
        })
    }
  }

  return (item: I): Promise<O> =>
    new Promise<O>((resolve, reject) => {
      queue.push({ item, resolve, reject })
      pump()
    })
}
