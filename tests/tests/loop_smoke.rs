use fiberloop_gateware::sim::fiber::FiberConfig;
use fiberloop_gateware::sim::loop_sim::LoopSim;

#[test]
fn clean_1km_loop_fills_and_round_trips() {
    let t = std::time::Instant::now();
    let mut sim = LoopSim::new(FiberConfig {
        length_m: 1000.0,
        ..Default::default()
    })
    .unwrap();
    eprintln!("model ready in {:?}", t.elapsed());
    let s = sim
        .fill(1_000_000)
        .unwrap_or_else(|e| panic!("{e}: {:?}", sim.stats()));
    eprintln!(
        "filled: {s:?}, fiber delay {} words",
        sim.fiber().delay_words()
    );
    let n = s.slots as u32;
    for slot in 0..n {
        let payload: Vec<u8> = (0..228).map(|i| (i as u32 * 7 + slot * 13) as u8).collect();
        sim.write_slot(slot, &payload).unwrap();
    }
    for slot in 0..n {
        let r = sim.read_slot(slot).unwrap();
        let payload: Vec<u8> = (0..228).map(|i| (i as u32 * 7 + slot * 13) as u8).collect();
        assert_eq!(r.payload, payload, "slot {slot}: flags {}", r.flags);
    }
    eprintln!("stats {:?} in {:?}", sim.stats(), t.elapsed());
}
