//! What the sign-in benches share: polling a future that is ready at once.

/// The output of a future that is ready when first polled, as every future over the
/// in-memory store and the plaintext or AEAD sealer is: no executor's cost is counted.
/// A macro, so the future is made where it is pinned, as it is inside a host's handler
/// (`mfa.verify_code(..).await`), rather than moved into a function first.
macro_rules! ready {
    ($future:expr) => {{
        let mut future = std::pin::pin!($future);
        match future.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
            std::task::Poll::Ready(output) => output,
            std::task::Poll::Pending => panic!("the in-memory store and the sealers never wait"),
        }
    }};
}
