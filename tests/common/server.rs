//! A real labelcheck server on 127.0.0.1:0 inside the test process, with the bundled model (or
//! fake engines, [`SlowFakes`], for tests whose timing must not depend on real OCR).

use std::net::SocketAddr;
use std::time::Duration;

use labelcheck::model::Model;
use labelcheck::pipeline::PipelineConfig;
use labelcheck::server::proto::pb::label_verifier_client::LabelVerifierClient;
use labelcheck::server::{
    self, ConnectionLimits, DEFAULT_MAX_MESSAGE_BYTES, Listeners, ServeConfig,
};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::transport::{Channel, Endpoint};

pub struct TestServer {
    pub addr: SocketAddr,
    pub metrics: SocketAddr,
    pub stop: Option<oneshot::Sender<()>>,
    pub task: tokio::task::JoinHandle<labelcheck::Result<()>>,
}

impl TestServer {
    pub async fn start(adjust: impl FnOnce(&mut ServeConfig)) -> TestServer {
        let model = Model::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models"))
            .expect("bundled model");
        let mut config = ServeConfig {
            model,
            pipeline: PipelineConfig::default(),
            workers: 2,
            max_queue: 8,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_request_time: Duration::from_secs(30),
            grace_period: Duration::from_secs(10),
            tls: None,
            connections: ConnectionLimits::default(),
            engines: None,
        };
        adjust(&mut config);
        let tls_off = config.tls.is_none();
        let grpc = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let metrics = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let (addr, metrics_addr) = (
            grpc.local_addr().expect("addr"),
            metrics.local_addr().expect("addr"),
        );
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server::serve(
            config,
            Listeners {
                grpc,
                metrics: Some(metrics),
            },
            async move {
                let _ = stopped.await;
            },
        ));
        let server = TestServer {
            addr,
            metrics: metrics_addr,
            stop: Some(stop),
            task,
        };
        if tls_off {
            server.wait_until_serving().await;
        }
        // (With TLS, callers simply wait: the socket is bound before serving starts.)
        server
    }

    pub async fn wait_until_serving(&self) {
        for _ in 0..200 {
            if let Ok(channel) = Endpoint::from_shared(format!("http://{}", self.addr))
                .expect("endpoint")
                .connect()
                .await
            {
                let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
                let reply = health
                    .check(tonic_health::pb::HealthCheckRequest {
                        service: String::new(),
                    })
                    .await;
                if reply.is_ok_and(|r| r.get_ref().status == 1) {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not start serving within 10 s");
    }

    /// A new plaintext connection to the server.
    pub async fn channel(&self) -> Channel {
        Endpoint::from_shared(format!("http://{}", self.addr))
            .expect("endpoint")
            .connect()
            .await
            .expect("connect")
    }

    pub async fn client(&self) -> LabelVerifierClient<Channel> {
        LabelVerifierClient::new(self.channel().await)
            .max_encoding_message_size(usize::MAX)
            .max_decoding_message_size(64 << 20)
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("the server stops within 30 s")
            .expect("server task")
            .expect("server ends cleanly");
    }
}

/// Engines that read nothing, each read taking `read_ms`: a photo's work takes a known time
/// whatever the machine, so deadline and overload tests do not depend on how fast real OCR is.
/// No detector: the pipeline keeps the locator's lines.
pub struct SlowFakes {
    pub read_ms: u64,
}

struct SlowReader(u64);

impl labelcheck::pipeline::ocr::Readers for SlowReader {
    fn read(
        &mut self,
        _line: &image::GrayImage,
        _ask: labelcheck::pipeline::ocr::Ask,
    ) -> labelcheck::Result<labelcheck::pipeline::ocr::LineRead> {
        std::thread::sleep(Duration::from_millis(self.0));
        Ok(labelcheck::pipeline::ocr::LineRead::default())
    }
}

impl labelcheck::engines::EngineFactory for SlowFakes {
    fn make(&self) -> labelcheck::Result<Box<dyn labelcheck::pipeline::ocr::Readers + Send>> {
        Ok(Box::new(SlowReader(self.read_ms)))
    }
}

/// [`SlowFakes`] as a server's engines.
pub fn slow_fakes(read_ms: u64) -> Option<server::Engines> {
    Some(server::Engines(std::sync::Arc::new(SlowFakes { read_ms })))
}
