use super::*;

#[test]
fn a_few_seeds_hold_every_invariant() {
    let opts = Options { seeds: 2, first_seed: 1, steps: 25, profile: ProfileKind::Default };
    for seed in opts.first_seed..opts.first_seed + opts.seeds {
        let report = run_seed(seed, &opts);
        assert!(report.failure.is_none(), "{}", describe(&report));
    }
}
