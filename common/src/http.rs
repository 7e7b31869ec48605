// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! The `/metrics` listener of `--prometheus`: one thread, one `mio` poll loop, bounded in
//! every way a client could push it, so that a slow, idle or hostile client can neither stall
//! the tool nor grow its memory or thread count:
//!
//! - at most [`MAX_CONNECTIONS`] open connections; one more evicts the oldest (idle ones
//!   cannot lock a scraper out);
//! - at most [`MAX_REQUEST`] bytes of request head per connection (the body is never read);
//! - [`TIMEOUT`] from accepting a connection to having written its whole response, then
//!   it is closed whatever its state (a client that stops reading included);
//! - one request per connection (`Connection: close`), answered with a body the caller
//!   already holds (no work per request beyond a lookup and a reference count).
//!
//! Requests are parsed by `httparse`; no HTTP is parsed here.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

/// The most connections held open at once.
pub const MAX_CONNECTIONS: usize = 64;
/// The most bytes of request line and headers read from one connection.
pub const MAX_REQUEST: usize = 8192;
/// How long a connection may take, from accept to the end of its response.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// The most headers a request may have (what httparse is given room for).
const MAX_HEADERS: usize = 32;
const LISTENER: Token = Token(usize::MAX);

/// What the handler is told of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The path, without the query.
    pub path: &'a str,
    /// Every `Accept` header's value, joined with commas.
    pub accept: String,
}

/// The handler's answer. The body is sent whole (`HEAD`: its length only).
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Box<dyn AsRef<[u8]> + Send>,
}

impl Response {
    /// A short answer of constant text.
    pub fn text(status: u16, body: &'static str) -> Self {
        Self {
            status,
            content_type: "text/plain; charset=utf-8",
            body: Box::new(body),
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "",
    }
}

/// A response being written.
struct Out {
    header: Vec<u8>,
    body: Box<dyn AsRef<[u8]> + Send>,
    /// False for `HEAD`.
    send_body: bool,
    /// Bytes of header and body written so far.
    done: usize,
}

/// One connection: reading its request head, then writing its response.
struct Conn {
    stream: TcpStream,
    since: Instant,
    head: Vec<u8>,
    out: Option<Out>,
}

/// What became of a connection after an event.
enum Next {
    Keep,
    Close,
}

impl Conn {
    fn new(stream: TcpStream) -> Self {
        Self {
            stream,
            since: Instant::now(),
            head: Vec::new(),
            out: None,
        }
    }

    /// Read what the client sent; once the head is whole, build the response and start
    /// writing it.
    fn readable(&mut self, handle: &impl Fn(&Request<'_>) -> Response) -> Next {
        if self.out.is_some() {
            return Next::Keep; // the request is read; the rest is not
        }
        let mut chunk = [0u8; 2048];
        // The client may send its request and shut its side (a half close): the request
        // read so far is still answered.
        let mut eof = false;
        loop {
            let room = MAX_REQUEST - self.head.len();
            if room == 0 {
                break;
            }
            let take = room.min(chunk.len());
            match self.stream.read(&mut chunk[..take]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => self.head.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Next::Close,
            }
        }
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut headers);
        let (resp, send_body) = match req.parse(&self.head) {
            Ok(httparse::Status::Complete(_)) => {
                let method = req.method.unwrap_or("");
                let path = req.path.unwrap_or("");
                let path = path.split('?').next().unwrap_or("");
                let accept = req
                    .headers
                    .iter()
                    .filter(|h| h.name.eq_ignore_ascii_case("accept"))
                    .map(|h| String::from_utf8_lossy(h.value).into_owned())
                    .collect::<Vec<_>>()
                    .join(",");
                let r = Request {
                    method,
                    path,
                    accept,
                };
                (handle(&r), method != "HEAD")
            }
            Ok(httparse::Status::Partial) if eof => return Next::Close,
            Ok(httparse::Status::Partial) if self.head.len() < MAX_REQUEST => return Next::Keep,
            Ok(httparse::Status::Partial) | Err(httparse::Error::TooManyHeaders) => {
                (Response::text(431, "request head too large\n"), true)
            }
            Err(_) => (Response::text(400, "bad request\n"), true),
        };
        let len = (*resp.body).as_ref().len();
        let header = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {len}\r\n\
             Connection: close\r\n\r\n",
            resp.status,
            reason(resp.status),
            resp.content_type
        );
        self.head = Vec::new();
        self.out = Some(Out {
            header: header.into_bytes(),
            body: resp.body,
            send_body,
            done: 0,
        });
        self.writable()
    }

    /// Write as much of the response as the socket takes; close once all is written.
    fn writable(&mut self) -> Next {
        let Some(Out {
            header,
            body,
            send_body,
            done,
        }) = &mut self.out
        else {
            return Next::Keep;
        };
        let body: &[u8] = if *send_body { (**body).as_ref() } else { &[] };
        loop {
            let (part, off) = if *done < header.len() {
                (&header[..], *done)
            } else if *done - header.len() < body.len() {
                (body, *done - header.len())
            } else {
                return Next::Close;
            };
            match self.stream.write(&part[off..]) {
                Ok(0) => return Next::Close,
                Ok(n) => *done += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Next::Keep,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Next::Close,
            }
        }
    }
}

/// Serve `listener` on a new thread named `metrics` until the process ends, answering each
/// request with `handle`. Errors: the poll cannot be created (out of file descriptors).
pub fn spawn(
    listener: std::net::TcpListener,
    handle: impl Fn(&Request<'_>) -> Response + Send + 'static,
) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let mut listener = TcpListener::from_std(listener);
    let poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || serve(poll, listener, handle))?;
    Ok(())
}

fn serve(mut poll: Poll, listener: TcpListener, handle: impl Fn(&Request<'_>) -> Response) {
    let mut events = Events::with_capacity(MAX_CONNECTIONS + 1);
    let mut conns: HashMap<usize, Conn> = HashMap::new();
    let mut next_token = 0usize;
    // Set when accept(2) failed for want of descriptors: the pending connections raise no new
    // event (edge-triggered), so accepting is tried again after a short wait.
    let mut accept_again = false;
    loop {
        let now = Instant::now();
        let wait = if accept_again {
            Duration::from_millis(100)
        } else {
            conns
                .values()
                .map(|c| (c.since + TIMEOUT).saturating_duration_since(now))
                .min()
                .unwrap_or(Duration::from_secs(60))
        };
        if let Err(e) = poll.poll(&mut events, Some(wait))
            && e.kind() != io::ErrorKind::Interrupted
        {
            return; // the poll itself failed: nothing more can be served
        }
        let mut accept = std::mem::take(&mut accept_again);
        for ev in &events {
            let token = ev.token();
            if token == LISTENER {
                accept = true;
                continue;
            }
            let Some(c) = conns.get_mut(&token.0) else {
                continue;
            };
            let mut next = Next::Keep;
            if ev.is_readable() || ev.is_read_closed() {
                next = c.readable(&handle);
            }
            if matches!(next, Next::Keep) && ev.is_writable() {
                next = c.writable();
            }
            if matches!(next, Next::Keep) && (ev.is_error() || ev.is_write_closed()) {
                next = Next::Close;
            }
            if matches!(next, Next::Close) {
                close(&poll, &mut conns, token.0);
            }
        }
        while accept {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    if conns.len() >= MAX_CONNECTIONS
                        && let Some(oldest) = conns.iter().min_by_key(|(_, c)| c.since)
                    {
                        let oldest = *oldest.0;
                        close(&poll, &mut conns, oldest);
                    }
                    next_token = (next_token + 1) % (usize::MAX - 1);
                    let token = next_token;
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    if poll
                        .registry()
                        .register(&mut stream, Token(token), interest)
                        .is_ok()
                    {
                        conns.insert(token, Conn::new(stream));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => accept = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => {}
                Err(_) => {
                    accept = false;
                    accept_again = true;
                }
            }
        }
        let now = Instant::now();
        let late: Vec<usize> = conns
            .iter()
            .filter(|(_, c)| now.saturating_duration_since(c.since) >= TIMEOUT)
            .map(|(&t, _)| t)
            .collect();
        for t in late {
            close(&poll, &mut conns, t);
        }
    }
}

fn close(poll: &Poll, conns: &mut HashMap<usize, Conn>, token: usize) {
    if let Some(mut c) = conns.remove(&token) {
        let _ = poll.registry().deregister(&mut c.stream);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpStream as StdStream;

    fn start() -> std::net::SocketAddr {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr");
        spawn(l, |r| {
            if r.path == "/metrics" {
                let body = format!("{} {} accept={}\n", r.method, r.path, r.accept);
                Response {
                    status: 200,
                    content_type: "text/plain",
                    body: Box::new(body),
                }
            } else {
                Response::text(404, "no\n")
            }
        })
        .expect("spawn");
        addr
    }

    fn get(addr: std::net::SocketAddr, request: &[u8]) -> String {
        let mut s = StdStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        s.write_all(request).expect("write");
        let mut out = String::new();
        s.read_to_string(&mut out).expect("read");
        out
    }

    #[test]
    fn answers_get_head_and_not_found() {
        let addr = start();
        let r = get(
            addr,
            b"GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAccept: text/plain\r\naccept: */*\r\n\r\n",
        );
        assert_eq!(
            r,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 35\r\n\
             Connection: close\r\n\r\nGET /metrics accept=text/plain,*/*\n"
        );
        let r = get(addr, b"HEAD /metrics HTTP/1.0\r\n\r\n");
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        assert!(r.contains("Content-Length: 22\r\n"), "{r}");
        assert!(r.ends_with("\r\n\r\n"), "HEAD has no body: {r}");
        let r = get(addr, b"GET /x HTTP/1.1\r\n\r\n");
        assert!(r.starts_with("HTTP/1.1 404 Not Found\r\n"), "{r}");
        let r = get(addr, b"\x01\x02 nonsense\r\n\r\n");
        assert!(r.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{r}");
    }

    #[test]
    fn an_endless_head_is_refused_at_the_limit() {
        let addr = start();
        let mut s = StdStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut req = b"GET /metrics HTTP/1.1\r\n".to_vec();
        while req.len() <= MAX_REQUEST {
            req.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        // The server may close before taking all of it; what it answered is still there.
        let _ = s.write_all(&req);
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let out = String::from_utf8_lossy(&out);
        assert!(out.starts_with("HTTP/1.1 431 "), "{out}");
    }

    /// Idle connections past the limit, and one that never finishes its request: a request
    /// still gets its answer at once, and the idle ones are closed (oldest first, or at the
    /// timeout), so the thread holds no more than the limit.
    #[test]
    fn idle_connections_do_not_lock_out_a_request() {
        let addr = start();
        let idle: Vec<StdStream> = (0..MAX_CONNECTIONS * 2)
            .map(|_| StdStream::connect(addr).expect("connect"))
            .collect();
        let mut slow = StdStream::connect(addr).expect("connect");
        slow.write_all(b"GET /metr").expect("write");
        let t = Instant::now();
        let r = get(addr, b"GET /metrics HTTP/1.1\r\n\r\n");
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        assert!(
            t.elapsed() < TIMEOUT,
            "answered without waiting on idle ones"
        );
        // The first idle connections were evicted: the server closed them (EOF).
        let mut first = &idle[0];
        first.set_read_timeout(Some(TIMEOUT * 2)).expect("timeout");
        let mut buf = [0u8; 16];
        assert_eq!(
            first.read(&mut buf).expect("read"),
            0,
            "closed by the server"
        );
        drop(idle);
    }
}
