use super::*;

#[test]
fn a_held_plan_records_like_a_fresh_one() {
    let mut by_plan = RetransmitSchedule::new(3, 1, ms(50), ms(400), ms(2000));
    by_plan.server_failed(2, ms(0));
    let mut fresh = by_plan.clone();
    while let Some(planned) = by_plan.next_send() {
        by_plan.planned_sent(planned, planned.at + ms(3));
        fresh.sent(planned.at + ms(3));
        assert_eq!(by_plan.timeline(), fresh.timeline(), "after {planned:?}");
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn plan(sends: &[(usize, u64)]) -> Vec<PlannedSend> {
    sends
        .iter()
        .map(|&(server, at)| PlannedSend { server, at: ms(at) })
        .collect()
}

#[test]
fn timelines_for_one_two_three_servers() {
    // (servers, start, timeout ms, budget ms, expected (server, at ms) sends)
    type Case = (usize, usize, u64, u64, &'static [(usize, u64)]);
    let cases: &[Case] = &[
        // Delays 50, 100, 200, 400, 800 (capped at 1000 from there); 5 s × 1 budget.
        (
            1,
            0,
            1000,
            5000,
            &[
                (0, 0),
                (0, 50),
                (0, 150),
                (0, 350),
                (0, 750),
                (0, 1550),
                (0, 2550),
                (0, 3550),
                (0, 4550),
            ],
        ),
        (
            2,
            0,
            1000,
            2000,
            &[(0, 0), (1, 50), (0, 150), (1, 350), (0, 750), (1, 1550)],
        ),
        (
            3,
            0,
            5000,
            10000,
            &[
                (0, 0),
                (1, 50),
                (2, 150),
                (0, 350),
                (1, 750),
                (2, 1550),
                (0, 3150),
                (1, 6350),
            ],
        ),
        // rotate: start at the second server.
        (
            3,
            1,
            300,
            1000,
            &[(1, 0), (2, 50), (0, 150), (1, 350), (2, 650), (0, 950)],
        ),
        // The budget ends the plan even when the cap is longer.
        (2, 0, 5000, 300, &[(0, 0), (1, 50), (0, 150)]),
        (0, 0, 5000, 10000, &[]),
    ];
    for &(servers, start, timeout, budget, want) in cases {
        let schedule = RetransmitSchedule::new(servers, start, ms(50), ms(timeout), ms(budget));
        assert_eq!(
            schedule.timeline(),
            plan(want),
            "{servers} servers from {start}"
        );
        assert_eq!(schedule.deadline(), ms(budget));
    }
}

#[test]
fn first_retry_is_well_under_250ms() {
    let schedule = RetransmitSchedule::new(1, 0, ms(50), ms(5000), ms(10000));
    let timeline = schedule.timeline();
    assert!(timeline[1].at < ms(250));
}

#[test]
fn learnt_rto_replaces_the_first_retransmit() {
    let mut schedule = RetransmitSchedule::new(2, 0, ms(50), ms(5000), ms(1000));
    schedule.set_rto(0, ms(120));
    // Delays: 120 (server 0's RTO), 50 × 2, 120 × 4, then 50 × 8 would pass the budget.
    assert_eq!(
        schedule.timeline(),
        plan(&[(0, 0), (1, 120), (0, 220), (1, 700)])
    );
}

#[test]
fn failed_server_sends_next_unasked_server_at_once() {
    let mut schedule = RetransmitSchedule::new(3, 0, ms(50), ms(1000), ms(2000));
    schedule.sent(ms(0));
    assert_eq!(
        schedule.next_send(),
        Some(PlannedSend {
            server: 1,
            at: ms(50)
        })
    );
    // Server 0 answers SERVFAIL at 10 ms: server 1 is due now, not at 50 ms.
    schedule.server_failed(0, ms(10));
    assert_eq!(
        schedule.next_send(),
        Some(PlannedSend {
            server: 1,
            at: ms(10)
        })
    );
    schedule.sent(ms(10));
    // Server 1 REFUSED at 12 ms: server 2 next, at once.
    schedule.server_failed(1, ms(12));
    assert_eq!(
        schedule.next_send(),
        Some(PlannedSend {
            server: 2,
            at: ms(12)
        })
    );
    schedule.sent(ms(12));
    assert!(!schedule.all_failed());
    // Only server 2 is left: retransmits go to it alone.
    let rest = schedule.timeline();
    assert!(rest.iter().all(|send| send.server == 2), "{rest:?}");
    assert_eq!(
        rest.first(),
        Some(&PlannedSend {
            server: 2,
            at: ms(212)
        })
    );
    schedule.server_failed(2, ms(20));
    assert!(schedule.all_failed());
    assert_eq!(schedule.next_send(), None);
}

#[test]
fn failure_of_an_already_asked_server_keeps_the_timer() {
    let mut schedule = RetransmitSchedule::new(2, 0, ms(50), ms(1000), ms(2000));
    schedule.sent(ms(0));
    schedule.sent(ms(50));
    // Both asked; server 0 fails at 60 ms: nothing unasked, the next send stays at 150 ms
    // but goes to server 1 rather than to the failed server 0.
    schedule.server_failed(0, ms(60));
    assert_eq!(
        schedule.next_send(),
        Some(PlannedSend {
            server: 1,
            at: ms(150)
        })
    );
}

#[test]
fn explicit_order_drops_bad_indices_and_bounds_sends() {
    let schedule = RetransmitSchedule::with_order(2, &[1, 5, 1, 0], ms(0), ms(0), ms(1000));
    let timeline = schedule.timeline();
    assert_eq!(timeline.len(), MAX_SENDS as usize);
    assert_eq!(&timeline[..3], &plan(&[(1, 0), (0, 1), (1, 2)])[..]);
}
