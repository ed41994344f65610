//! `ferrolb-whoami`: the HTTP backend of the real cluster's end-to-end suite. Every request is
//! answered `200` with one line, `pod=<POD_NAME> node=<NODE_NAME>` (from the downward API), so
//! a client of a LoadBalancer Service sees which pod, and through it which node, served it.
//! It listens on `LISTEN` (default `0.0.0.0:8080`), one thread per connection, and reads only
//! the request head: a probe at 20 requests/s needs no more. std alone keeps the image to one
//! small static binary.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};

fn answer(stream: TcpStream, body: &str) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    // The request line and headers, up to the blank line.
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

fn main() -> std::io::Result<()> {
    let env = |name: &str| std::env::var(name).unwrap_or_else(|_| "unknown".to_owned());
    let body = format!("pod={} node={}\n", env("POD_NAME"), env("NODE_NAME"));
    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "0.0.0.0:8080".to_owned());
    let listener = TcpListener::bind(&listen)?;
    eprintln!("ferrolb-whoami listening on {listen}");
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let body = body.clone();
        std::thread::spawn(move || {
            let _ = answer(stream, &body);
        });
    }
    Ok(())
}
