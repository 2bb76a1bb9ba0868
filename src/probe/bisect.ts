// Finds the largest value a monotonic test passes, with a bounded number of tries: grow by doubling from
// `start` until a refusal or `max`, then halve the interval until it is within `precision` of the value.
// Pure: the test is given.

export interface Outcome<E> { ok: boolean, evidence: E }

export interface BisectOptions<E> {
  /** the first value tried */
  start: number
  /** the largest value tried; passing it means "at least max" */
  max: number
  /** stop once (refused - passed) <= precision × passed (0.02: within 2%) */
  precision: number
  /** most tests run */
  maxTries: number
  /** the first value tried inside the interval, when a measurement suggests where the limit is */
  guess?: number
  /** a value already known to be refused (skips the growth phase), with its evidence */
  refused?: { value: number, evidence: E }
}

export interface Bisection<E> {
  /** the largest value that passed; null when none did */
  passed: number | null
  /** the smallest value refused; null when every value up to max passed */
  refused: number | null
  /** what the smallest refusal looked like */
  evidence: E | null
  tries: number
  /** true when the try budget ran out before the interval was narrow enough */
  exhausted: boolean
}

export async function bisect<E> (test: (n: number) => Promise<Outcome<E>>, o: BisectOptions<E>): Promise<Bisection<E>> {
  let lo: number | null = null
  let hi: number | null = o.refused?.value ?? null
  let evidence: E | null = o.refused?.evidence ?? null
  let tries = 0
  const run = async (n: number): Promise<boolean> => {
    tries++
    const r = await test(n)
    if (r.ok) lo = n
    else { hi = n; evidence = r.evidence }
    return r.ok
  }
  if (hi === null) {
    let n = Math.min(o.start, o.max)
    while (tries < o.maxTries) {
      if (!await run(n)) break
      if (n >= o.max) return { passed: lo, refused: null, evidence: null, tries, exhausted: false }
      n = Math.min(n * 2, o.max)
    }
  }
  let guess = o.guess
  const narrow = (): boolean => {
    if (hi === null) return true
    const low = lo ?? 0
    return hi - low <= 1 || (lo !== null && hi - lo <= o.precision * lo)
  }
  while (!narrow() && tries < o.maxTries) {
    const low: number = lo ?? 0
    let mid = guess !== undefined && guess > low && guess < hi! ? guess : Math.floor((low + hi!) / 2)
    guess = undefined
    if (mid <= low) mid = low + 1
    await run(mid)
  }
  return { passed: lo, refused: hi, evidence, tries, exhausted: !narrow() }
}
