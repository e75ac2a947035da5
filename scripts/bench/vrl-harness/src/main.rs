// Baseline for `albatross parse`: Vector's VRL `parse_aws_alb_log`, as a whole process.
// Reads access-log lines (stdin, or the files given), runs `. = parse_aws_alb_log!(.message)`
// on each and writes each result as one JSON line to stdout; a line VRL rejects becomes one
// JSON error line on stderr, and a summary line ends stderr. Same shape of work as
// `albatross parse`: read, split lines, parse, serialise, batched writes.
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::time::Instant;

use vrl::compiler::{state::RuntimeState, Context, TargetValue, TimeZone};
use vrl::value::{Secrets, Value};

const PROGRAM: &str = ". = parse_aws_alb_log!(.message)";

fn main() -> io::Result<()> {
    let started = Instant::now();
    let functions = vrl::stdlib::all();
    let program = match vrl::compiler::compile(PROGRAM, &functions) {
        Ok(compiled) => compiled.program,
        Err(diagnostics) => panic!("VRL program does not compile: {diagnostics:?}"),
    };
    let timezone = TimeZone::default();
    let mut state = RuntimeState::default();

    let paths: Vec<String> = std::env::args().skip(1).collect();
    let inputs: Vec<Box<dyn Read>> = if paths.is_empty() || paths == ["-"] {
        vec![Box::new(io::stdin().lock())]
    } else {
        paths.iter().map(|p| File::open(p).map(|f| Box::new(f) as Box<dyn Read>)).collect::<io::Result<_>>()?
    };

    let mut stdout = BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    let mut stderr = BufWriter::with_capacity(64 * 1024, io::stderr().lock());
    let (mut lines, mut documents, mut failed) = (0u64, 0u64, 0u64);
    let mut buffer = Vec::with_capacity(4096);
    for input in inputs {
        let mut reader = BufReader::with_capacity(64 * 1024, input);
        loop {
            buffer.clear();
            if reader.read_until(b'\n', &mut buffer)? == 0 {
                break;
            }
            if buffer.last() == Some(&b'\n') {
                buffer.pop();
            }
            lines += 1;
            let message = String::from_utf8_lossy(&buffer).into_owned();
            let mut event = BTreeMap::new();
            event.insert("message".into(), Value::from(message));
            let mut target = TargetValue {
                value: Value::Object(event),
                metadata: Value::Object(BTreeMap::new()),
                secrets: Secrets::default(),
            };
            state.clear();
            let mut context = Context::new(&mut target, &mut state, &timezone);
            match program.resolve(&mut context) {
                Ok(_) => {
                    documents += 1;
                    serde_json::to_writer(&mut stdout, &target.value)?;
                    stdout.write_all(b"\n")?;
                }
                Err(error) => {
                    failed += 1;
                    let report = serde_json::json!({ "line": lines, "error": error.to_string(), "raw": String::from_utf8_lossy(&buffer) });
                    serde_json::to_writer(&mut stderr, &report)?;
                    stderr.write_all(b"\n")?;
                }
            }
        }
    }
    stdout.flush()?;
    writeln!(stderr, "vrl parse_aws_alb_log: {lines} lines, {documents} documents, {failed} failed in {:.2} s", started.elapsed().as_secs_f64())?;
    stderr.flush()?;
    Ok(())
}
