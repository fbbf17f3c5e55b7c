/** Makes `target[method]` reject with `message` on its next call, then behave as before (a storage write that fails once). */
export function failOnce<T extends object, K extends keyof T>(target: T, method: K, message: string): void {
  const real = (target[method] as (...args: unknown[]) => unknown).bind(target);
  let failed = false;
  target[method] = (async (...args: unknown[]) => {
    if (failed) return real(...args);
    failed = true;
    throw new Error(message);
  }) as T[K];
}
