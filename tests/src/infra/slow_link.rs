//! A slow path to the API server: a TCP relay on loopback that holds every byte for a fixed
//! time in each direction before passing it on, as a distant control plane would, with a
//! kubeconfig that points at it. The API server's certificate is issued for 127.0.0.1, so TLS
//! through the relay works unchanged. The relay runs in the suite's own process, so stopping a
//! client (SIGSTOP) does not stop the bytes it already sent.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::infra::api_relay::api_port;

/// A running relay; dropping it closes every connection through it and removes its
/// kubeconfig.
pub struct SlowLink {
    /// A copy of the API server's kubeconfig that reaches it through the relay.
    pub kubeconfig: PathBuf,
    accept: tokio::task::JoinHandle<()>,
}

impl SlowLink {
    /// Relays the API server of `kubeconfig`, delaying each direction by `delay`.
    pub async fn start(kubeconfig: &Path, delay: Duration) -> std::io::Result<Self> {
        let upstream = api_port(kubeconfig);
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let text = std::fs::read_to_string(kubeconfig)?.replace(
            &format!("server: https://127.0.0.1:{upstream}"),
            &format!("server: https://127.0.0.1:{port}"),
        );
        let copy = kubeconfig.with_file_name(format!("kubeconfig-slow-{port}"));
        std::fs::write(&copy, text)?;
        let accept = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                connections.spawn(async move {
                    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                        return;
                    };
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    tokio::join!(
                        pump(client_read, server_write, delay),
                        pump(server_read, client_write, delay)
                    );
                });
            }
        });
        Ok(Self {
            kubeconfig: copy,
            accept,
        })
    }
}

/// Copies `from` to `to`, each chunk `delay` after it was read, in order.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, delay: Duration) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let read = async move {
        let mut buf = vec![0; 64 * 1024];
        while let Ok(n @ 1..) = from.read(&mut buf).await {
            if tx
                .send((Instant::now() + delay, buf[..n].to_vec()))
                .is_err()
            {
                break;
            }
        }
    };
    let write = async move {
        while let Some((due, bytes)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(read, write);
}

impl Drop for SlowLink {
    fn drop(&mut self) {
        self.accept.abort();
        let _ = std::fs::remove_file(&self.kubeconfig);
    }
}
