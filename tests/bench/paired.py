# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# paired(full, full_nft, dnat, dnat_nft): full NAT's ratio against the DNAT
# ratio taken round by round. The rounds alternate the contenders, so each
# round's two ratios come from runs a few seconds apart and the drift of a
# run (this host's noise, tests/bench/NOTES.md) drops out of them; the
# medians' ratios of the target line above do not have that. Each argument
# is one contender's figures in round order. Read by run.sh's reports.
import statistics


def paired(full, full_nft, dnat, dnat_nft):
    pf = [a / b for a, b in zip(full, full_nft) if b]
    pd = [a / b for a, b in zip(dnat, dnat_nft) if b]
    if not pf or not pd:
        return "paired per round: no figures"
    mf, md = statistics.median(pf), statistics.median(pd)
    return "paired per round: full NAT %.2fx (%.2f-%.2f) against the DNAT ratio %.2fx (%.2f-%.2f), %s." % (
        mf, min(pf), max(pf), md, min(pd), max(pd), "met" if mf >= md else "missed")
