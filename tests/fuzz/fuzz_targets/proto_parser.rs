//! The host protocol receiver (`fiberloop_spec::proto::Parser`) on an
//! arbitrary byte stream mixed with well-formed frames.
//!
//! The input is a program: its first byte picks the direction, then each
//! op is either a raw byte with a time step, a time jump past the timeout,
//! or a well-formed frame (header fields and payload from the input) sent
//! byte by byte. Checked:
//! * no panic, whatever arrives;
//! * every frame the parser reports is exactly the bytes that just arrived
//!   (re-encoding its header and payload gives the last bytes pushed);
//! * a well-formed frame sent while the parser is between frames is
//!   received: one `Frame` event, on its last byte, with its header and
//!   payload.
#![no_main]

use fiberloop_spec::proto::{encode, frame_len, Direction, Event, Header, Parser};
use libfuzzer_sys::fuzz_target;

const TIMEOUT: u64 = 100;

fuzz_target!(|data: &[u8]| {
    let Some((&first, mut rest)) = data.split_first() else {
        return;
    };
    let dir = if first & 1 == 0 {
        Direction::Request
    } else {
        Direction::Reply
    };
    let mut p = Parser::new(dir, TIMEOUT);
    let mut now: u64 = 0;
    let mut sent: Vec<u8> = Vec::new();

    // Pushes one byte; checks a reported frame against the bytes sent.
    let mut push = |p: &mut Parser, sent: &mut Vec<u8>, b: u8, now: u64| -> Option<Event> {
        sent.push(b);
        let ev = p.push(b, now);
        if let Some(Event::Frame(h)) = ev {
            let n = frame_len(dir, &h);
            assert!(
                sent.len() >= n,
                "frame of {n} bytes after {} bytes",
                sent.len()
            );
            let mut buf = vec![0u8; n];
            let got = encode(dir, &h, p.payload(), &mut buf).expect("reported frame encodes");
            assert_eq!(got, n);
            assert_eq!(&sent[sent.len() - n..], &buf[..], "reported frame {h:?}");
        }
        ev
    };

    while let Some((&op, tail)) = rest.split_first() {
        rest = tail;
        match op {
            // A well-formed frame: 8 header field bytes, then its payload.
            0xFF if rest.len() >= 8 => {
                let mut f = [0u8; 8];
                f.copy_from_slice(&rest[..8]);
                rest = &rest[8..];
                let mut h = Header::from_field_bytes(&f);
                // Keep payloads short (up to 7 words) so frames are cheap.
                h.len %= 8;
                let words = h.payload_words(dir).unwrap_or(0);
                let take = (4 * words).min(rest.len());
                let mut payload = rest[..take].to_vec();
                payload.resize(4 * words, 0);
                rest = &rest[take..];
                let mut frame = vec![0u8; frame_len(dir, &h)];
                encode(dir, &h, &payload, &mut frame).expect("well-formed frame");
                let between = !p.in_frame();
                let last = frame.len() - 1;
                for (i, &b) in frame.iter().enumerate() {
                    now += 1;
                    let ev = push(&mut p, &mut sent, b, now);
                    if between {
                        if i == last {
                            assert_eq!(ev, Some(Event::Frame(h)), "frame {h:?} not received");
                            assert_eq!(p.payload(), &payload[..]);
                        } else {
                            assert_eq!(ev, None, "event inside frame {h:?} at byte {i}");
                        }
                    }
                }
            }
            // Silence past the timeout, then a poll.
            0xFE => {
                now += TIMEOUT + 1;
                if let Some(ev) = p.poll(now) {
                    assert!(matches!(ev, Event::Dropped(_)));
                }
                assert!(!p.in_frame());
            }
            // A raw byte after a short time step.
            _ => {
                let Some((&b, tail)) = rest.split_first() else {
                    break;
                };
                rest = tail;
                now += u64::from(op & 0x0F);
                push(&mut p, &mut sent, b, now);
            }
        }
    }
});
