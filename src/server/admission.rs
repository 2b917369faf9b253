//! Admission control: at most `limit` requests are admitted at once (running on a worker or
//! queued for one). Past that a request is refused at once with RESOURCE_EXHAUSTED instead of
//! waiting in an unbounded queue, so overload costs the server almost nothing and callers can retry
//! elsewhere. A slot is held until the CPU work really ends, even if the caller gave up earlier.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, Result};

/// The admission gate.
#[derive(Debug, Clone)]
pub struct Admission {
    slots: Arc<Semaphore>,
    limit: usize,
    /// Follows the number of admitted requests, if set.
    gauge: Option<prometheus::IntGauge>,
}

/// One admitted request's slot; dropping it frees the slot.
#[derive(Debug)]
pub struct Slot {
    _permit: OwnedSemaphorePermit,
    gauge: Option<prometheus::IntGauge>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(g) = &self.gauge {
            g.dec();
        }
    }
}

impl Admission {
    /// A gate admitting `limit` requests at once (running plus queued).
    pub fn new(limit: usize) -> Admission {
        Admission {
            slots: Arc::new(Semaphore::new(limit)),
            limit,
            gauge: None,
        }
    }

    /// The same gate, keeping `gauge` equal to the number of admitted requests.
    pub fn with_gauge(mut self, gauge: prometheus::IntGauge) -> Admission {
        self.gauge = Some(gauge);
        self
    }

    /// Requests admitted at once.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Requests admitted now.
    pub fn admitted(&self) -> usize {
        self.limit - self.slots.available_permits()
    }

    /// Admits a request, or refuses it at once with [`Error::Overloaded`].
    pub fn try_admit(&self) -> Result<Slot> {
        let permit = Arc::clone(&self.slots)
            .try_acquire_owned()
            .map_err(|_| Error::Overloaded { limit: self.limit })?;
        if let Some(g) = &self.gauge {
            g.inc();
        }
        Ok(Slot {
            _permit: permit,
            gauge: self.gauge.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_up_to_the_limit_then_refuses_until_a_slot_frees() {
        let gate = Admission::new(2);
        let a = gate.try_admit().expect("first");
        let _b = gate.try_admit().expect("second");
        assert!(matches!(
            gate.try_admit(),
            Err(Error::Overloaded { limit: 2 })
        ));
        assert_eq!(gate.admitted(), 2);
        drop(a);
        assert!(gate.try_admit().is_ok());
    }
}

/// The slot of a request admitted by [`AdmissionLayer`], handed to the handler through the
/// request's extensions (which must be `Clone`, hence the shared cell).
#[derive(Debug, Clone)]
pub struct AdmittedSlot(Arc<std::sync::Mutex<Option<Slot>>>);

impl AdmittedSlot {
    /// Takes the slot out (once).
    pub fn take(&self) -> Option<Slot> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// Admits `Verify` calls when their headers arrive, before the photo is read: a refused call
/// costs no photo buffering and is answered at once. Other methods (health, reflection, server
/// info) pass untouched.
#[derive(Clone)]
pub struct AdmissionLayer {
    admission: Admission,
    metrics: super::metrics::Metrics,
    path: &'static str,
}

impl AdmissionLayer {
    /// Gates calls to the method at `path` (e.g. `/labelcheck.v1.LabelVerifier/Verify`).
    pub fn new(
        admission: Admission,
        metrics: super::metrics::Metrics,
        path: &'static str,
    ) -> AdmissionLayer {
        AdmissionLayer {
            admission,
            metrics,
            path,
        }
    }
}

impl<S> tower::Layer<S> for AdmissionLayer {
    type Service = AdmissionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AdmissionService {
            inner,
            gate: self.clone(),
        }
    }
}

/// The service made by [`AdmissionLayer`].
#[derive(Clone)]
pub struct AdmissionService<S> {
    inner: S,
    gate: AdmissionLayer,
}

type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for AdmissionService<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        if request.uri().path() == self.gate.path {
            let started = std::time::Instant::now();
            match self.gate.admission.try_admit() {
                Ok(slot) => {
                    request
                        .extensions_mut()
                        .insert(AdmittedSlot(Arc::new(std::sync::Mutex::new(Some(slot)))));
                }
                Err(error) => {
                    let m = &self.gate.metrics;
                    let status = super::status::to_status(&error);
                    let code = format!("{:?}", status.code());
                    m.requests.with_label_values(&["none", &code]).inc();
                    m.rejected.with_label_values(&[error.code()]).inc();
                    m.request_seconds
                        .with_label_values(&[&code])
                        .observe(started.elapsed().as_secs_f64());
                    tracing::debug!(error = %error, "refused before reading the photo");
                    return Box::pin(std::future::ready(Ok(status.into_http())));
                }
            }
        }
        Box::pin(self.inner.call(request))
    }
}
