/**
 * diag(Σ(Σ + λI)⁻¹), unnormalised (it sums to N̂(λ)), by Gauss–Jordan elimination on [Σ + λI | Σ]:
 * an independent reference for the leverage scores (no Cholesky, no eigenvectors).
 */
export function leverageDiagonalByElimination(sigma: ArrayLike<number>, m: number, lambda: number): number[] {
  const a = Array.from({ length: m }, (_, i) => [...Array.from({ length: m }, (_, j) => sigma[i * m + j]! + (i === j ? lambda : 0)), ...Array.from({ length: m }, (_, j) => sigma[i * m + j]!)]);
  for (let c = 0; c < m; c++) {
    let p = c;
    for (let r = c + 1; r < m; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[p]![c]!)) p = r;
    [a[c], a[p]] = [a[p]!, a[c]!];
    const pivot = a[c]![c]!;
    for (let j = 0; j < 2 * m; j++) a[c]![j]! /= pivot;
    for (let r = 0; r < m; r++) {
      if (r === c) continue;
      const f = a[r]![c]!;
      if (f !== 0) for (let j = 0; j < 2 * m; j++) a[r]![j]! -= f * a[c]![j]!;
    }
  }
  // The right half is (Σ + λI)⁻¹Σ, whose diagonal equals that of Σ(Σ + λI)⁻¹ (they commute).
  return Array.from({ length: m }, (_, j) => a[j]![m + j]!);
}
