//! Decodes SUNBURST beacon names, one per line on standard input, and prints each decoded
//! query and then one summary line per victim.

#![expect(clippy::print_stdout, reason = "an example prints its result")]

use std::io::BufRead as _;

use ferret_checks::sunburst::dga::{Message, Reassembler, format_utc, parse_query, victim_hex};

fn main() {
    let mut r = Reassembler::new();
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        let name = line.trim();
        match parse_query(name) {
            None => println!("{name}\tnot a beacon"),
            Some(q) => {
                let what = match &q.message {
                    Message::Fragment(f) => {
                        format!("fragment {:?} {:?} {:?}", f.seq, f.payload, f.standalone_text())
                    }
                    Message::Status(s) => format!(
                        "status {} stage2={} running={:?} stopped={:?}",
                        format_utc(s.time),
                        s.stage2,
                        s.running(),
                        s.stopped()
                    ),
                };
                println!("{name}\t{}\t{what}", victim_hex(&q.victim));
                r.push(None, &q);
            }
        }
    }
    for v in r.reports() {
        println!(
            "victim {} queries={} domain={:?} stage2={} running={:?} stopped={:?}",
            victim_hex(&v.victim),
            v.queries,
            v.domain.as_ref().map(|d| (&d.name, d.complete)),
            v.stage2(),
            v.products_running(),
            v.products_stopped()
        );
    }
}
