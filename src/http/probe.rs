//! `protected-api healthcheck`: the container's `HEALTHCHECK`, with no shell or HTTP tool in the
//! image. One `GET /healthz` over plain HTTP/1.1 to the address the settings listen on.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// Longest answer read: a status line and a few headers.
const MAX_ANSWER: usize = 4096;

/// Asks `GET /healthz` of the service listening on `listen` (a wildcard address is asked on
/// loopback) within `timeout`; `Ok` on a 200, else why not.
pub async fn healthz(listen: SocketAddr, timeout: Duration) -> Result<(), String> {
    let address = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), listen.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::new(Ipv6Addr::LOCALHOST.into(), listen.port()),
        _ => listen,
    };
    let probe = async {
        let mut stream = TcpStream::connect(address).await.map_err(|error| format!("connect to {address}: {error}"))?;
        let request = format!("GET /healthz HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.map_err(|error| format!("send: {error}"))?;
        let mut answer = Vec::new();
        let mut buffer = [0; 1024];
        while !answer.windows(2).any(|window| window == b"\r\n") && answer.len() < MAX_ANSWER {
            let read = stream.read(&mut buffer).await.map_err(|error| format!("read: {error}"))?;
            if read == 0 {
                break;
            }
            answer.extend_from_slice(&buffer[..read]);
        }
        let status_line = String::from_utf8_lossy(&answer);
        let status_line = status_line.lines().next().unwrap_or_default();
        match status_line.split(' ').nth(1) {
            Some("200") => Ok(()),
            _ => Err(format!("{address} answered {status_line:?}")),
        }
    };
    tokio::time::timeout(timeout, probe)
        .await
        .unwrap_or_else(|_| Err(format!("no answer from {address} within {timeout:?}")))
}
