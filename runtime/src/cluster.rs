//! Connecting the processes of a multi-process job.
//!
//! Timely's own connection code prints its progress ("awaiting connections", retry
//! notices) to standard output, where it would mix with a job's `print()` output, and it
//! retries forever. This module makes the same connections with the same handshake
//! (process `i` connects to every process below it and sends its index as a big-endian
//! `u64`; it accepts connections from every process above it), reports progress on
//! standard error, and gives up with a clear error after a timeout.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
use timely::communication::allocator::{AllocatorBuilder, ProcessBuilder};
use timely::communication::Hooks;

use crate::error::{Error, Result};

/// How often a process reports that it is still waiting for its peers.
const REPORT_EVERY: Duration = Duration::from_secs(5);

/// Timely allocators for `threads` workers of process `index`, connected to every process
/// in `addresses`, and the guard that keeps the network threads alive.
pub(crate) fn allocators(
    addresses: &[String],
    index: usize,
    threads: usize,
    timeout: Duration,
) -> Result<(Vec<AllocatorBuilder>, Box<dyn std::any::Any + Send>)> {
    let sockets = connect(addresses, index, timeout)?;
    let hooks = Hooks::default();
    let local =
        ProcessBuilder::new_typed_vector(threads, hooks.refill.clone(), hooks.spill.clone());
    let (builders, guard) =
        initialize_networking_from_sockets(local, sockets, index, threads, hooks)
            .map_err(|e| Error::Startup(format!("cannot start the network threads: {e}")))?;
    Ok((
        builders.into_iter().map(AllocatorBuilder::Tcp).collect(),
        Box::new(guard),
    ))
}

/// One socket per other process, in process order, `None` at `index`.
fn connect(
    addresses: &[String],
    index: usize,
    timeout: Duration,
) -> Result<Vec<Option<TcpStream>>> {
    let deadline = Instant::now() + timeout;
    let listeners = addresses[index]
        .split_whitespace()
        .map(|a| {
            TcpListener::bind(a)
                .map_err(|e| Error::Startup(format!("process {index} cannot listen on {a}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut sockets: Vec<Option<TcpStream>> = Vec::with_capacity(addresses.len());
    for (peer, address) in addresses.iter().enumerate().take(index) {
        sockets.push(Some(connect_to(address, peer, index, deadline)?));
    }
    sockets.push(None);
    sockets.extend(
        accept_from(&listeners, addresses, index, deadline)?
            .into_iter()
            .map(Some),
    );
    Ok(sockets)
}

fn connect_to(address: &str, peer: usize, index: usize, deadline: Instant) -> Result<TcpStream> {
    let mut last_report = Instant::now();
    loop {
        match TcpStream::connect(address) {
            Ok(mut stream) => {
                stream
                    .set_nodelay(true)
                    .map_err(|e| Error::Startup(e.to_string()))?;
                stream
                    .write_all(&(index as u64).to_be_bytes())
                    .map_err(|e| {
                        Error::Startup(format!("cannot greet process {peer} at {address}: {e}"))
                    })?;
                return Ok(stream);
            }
            Err(e) if Instant::now() >= deadline => {
                return Err(Error::Startup(format!(
                    "process {index} could not reach process {peer} at {address}: {e}; is it running with the same -n and hostfile?"
                )));
            }
            Err(e) => {
                if last_report.elapsed() >= REPORT_EVERY {
                    eprintln!(
                        "tidemill: process {index} waiting for process {peer} at {address} ({e})"
                    );
                    last_report = Instant::now();
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

fn accept_from(
    listeners: &[TcpListener],
    addresses: &[String],
    index: usize,
    deadline: Instant,
) -> Result<Vec<TcpStream>> {
    let expected = addresses.len() - index - 1;
    let mut accepted: Vec<Option<TcpStream>> = (0..expected).map(|_| None).collect();
    let mut last_report = Instant::now();
    for listener in listeners {
        listener
            .set_nonblocking(true)
            .map_err(|e| Error::Startup(e.to_string()))?;
    }
    while accepted.iter().any(Option::is_none) {
        let mut progressed = false;
        for listener in listeners {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    stream
                        .set_nonblocking(false)
                        .map_err(|e| Error::Startup(e.to_string()))?;
                    stream
                        .set_nodelay(true)
                        .map_err(|e| Error::Startup(e.to_string()))?;
                    let mut id = [0u8; 8];
                    stream
                        .read_exact(&mut id)
                        .map_err(|e| Error::Startup(format!("bad greeting from a peer: {e}")))?;
                    let peer = u64::from_be_bytes(id) as usize;
                    let slot = peer
                        .checked_sub(index + 1)
                        .and_then(|i| accepted.get_mut(i))
                        .ok_or_else(|| {
                            Error::Startup(format!(
                                "process {index} got a connection from unexpected process {peer}"
                            ))
                        })?;
                    *slot = Some(stream);
                    progressed = true;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    return Err(Error::Startup(format!(
                        "process {index} cannot accept connections: {e}"
                    )))
                }
            }
        }
        if !progressed {
            let missing: Vec<usize> = (0..expected)
                .filter(|i| accepted[*i].is_none())
                .map(|i| i + index + 1)
                .collect();
            if Instant::now() >= deadline {
                return Err(Error::Startup(format!(
                    "process {index} heard nothing from process(es) {missing:?}; are they running with the same -n and hostfile?"
                )));
            }
            if last_report.elapsed() >= REPORT_EVERY {
                eprintln!(
                    "tidemill: process {index} waiting for process(es) {missing:?} to connect"
                );
                last_report = Instant::now();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    Ok(accepted
        .into_iter()
        .map(|s| s.expect("all accepted"))
        .collect())
}
