/**
 * Requests that have reached (or may have reached) the server and consume a token: a refresh that was sent, a
 * revocation. They are never abandoned: unmount and dispose wait for them, so a rotated pair is always stored and
 * announced whatever happens to the mount count meanwhile.
 */
export class InFlight {
  private readonly pending = new Set<Promise<unknown>>();

  track<T>(work: Promise<T>): Promise<T> {
    const entry = work.then(
      () => undefined,
      () => undefined,
    );
    this.pending.add(entry);
    void entry.then(() => this.pending.delete(entry));
    return work;
  }

  get size(): number {
    return this.pending.size;
  }

  /** Resolves once everything tracked now and anything tracked meanwhile has settled. */
  async drained(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}
