"""Reference re-implementation (numpy) of the projection responder's --pc-weights computes:
  plink2 --bfile X --read-freq ref.acount --score ref.eigenvec.allele 2 5 header-read
         no-mean-imputation variance-standardize cols=+scoresums --score-col-nums 6-10
Verified against fixtures new_projected.sscore / ref_projected.sscore (plink2 2.00a3.5 reproduces them byte-for-byte).
"""
import sys, numpy as np
import os
D = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "genetics", "real") + "/"

def read_bed(pfx):
    bim = [l.split() for l in open(D + pfx + '.bim')]
    fam = [l.split() for l in open(D + pfx + '.fam')]
    n = len(fam); raw = np.fromfile(D + pfx + '.bed', np.uint8)
    assert raw[:3].tolist() == [0x6c, 0x1b, 0x01]
    raw = raw[3:].reshape(len(bim), (n + 3) // 4)
    code = np.stack([(raw >> (2 * k)) & 3 for k in range(4)], -1).reshape(len(bim), -1)[:, :n]
    g = np.choose(code, [2., np.nan, 1., 0.])        # copies of bim col5 allele; NaN = missing
    return bim, fam, g

def project(pfx, K=5):
    bim, fam, g = read_bed(pfx)
    row = {b[1]: i for i, b in enumerate(bim)}
    acnt = {f[1]: f for f in (l.split() for l in list(open(D + 'ref.acount'))[1:])}
    S = np.zeros((len(fam), K))
    for r in (l.split() for l in list(open(D + 'ref.eigenvec.allele'))[1:]):   # one line per allele
        i, a1, w = row[r[1]], r[4], np.array(r[5:5 + K], float)
        p_alt = int(acnt[r[1]][4]) / int(acnt[r[1]][5])          # ALT_CTS / OBS_CT
        p = p_alt if a1 == r[3] else 1.0 - p_alt                 # frequency of this line's A1
        d = g[i] if a1 == bim[i][4] else 2.0 - g[i]              # dosage of this line's A1
        var = 2.0 * p * (1.0 - p)                                # plink2: ploidy/2 * sum_alleles p(1-p)
        if not var > 1e-15:                                      # (none here) plink2: slope 0, or error if
            continue                                             #  any het/hom-other call is present
        z = (d - 2.0 * p) / np.sqrt(var)
        S += np.nan_to_num(z)[:, None] * w                        # no-mean-imputation: missing -> 0
    # both allele lines add the same term (z and w both flip sign), so S = 2 x one-line projection
    allele_ct = 2 * (~np.isnan(g)).sum(0)   # ALLELE_CT = 2 per non-missing variant (variant counted once)
    # NAMED_ALLELE_DOSAGE_SUM = sum over both lines of A1 dosage = 2 per non-missing variant = ALLELE_CT
    return fam, allele_ct, S / allele_ct[:, None], S

if __name__ == '__main__':
    for pfx in ('new', 'ref'):
        fam, ac, avg, S = project(pfx)
        fx = np.array([l.split()[2:] for l in list(open(D + pfx + '_projected.sscore'))[1:]], float)
        print(pfx, 'ALLELE_CT/NAMED max diff', abs(fx[:, 0] - ac).max(), abs(fx[:, 1] - ac).max(),
              'AVG max diff %.3g' % abs(fx[:, 2:7] - avg).max(),
              ('SUM max diff %.3g' % abs(fx[:, 7:12] - S).max()) if fx.shape[1] > 7 else '(no SUM cols in fixture)')
        if len(sys.argv) > 1:  # optional: compare to a fresh plink2 output with SUM columns
            fy = np.array([l.split()[2:] for l in list(open(sys.argv[1] + '/' + pfx + '_projected.sscore'))[1:]], float)
            print('   vs plink2 rerun: SUM max diff %.3g' % abs(fy[:, 7:12] - S).max())
