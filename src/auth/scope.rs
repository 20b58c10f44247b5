//! Scope requirements declared once, next to the route, by a type: the same type makes the
//! operation check the scope and makes the spec document its 403.

use std::{marker::PhantomData, sync::Arc};

use super::{answers::AuthError, claims::Claims};

/// A scope an operation requires. Declare one with [`required_scope!`](crate::required_scope).
pub trait RequiredScope: Send + Sync + 'static {
    /// The scope, as it appears in `scope` or `permissions`.
    const SCOPE: &'static str;
    /// The 403 description in the spec.
    const DENIED: &'static str;
}

/// Declares a [`RequiredScope`] type: `required_scope!(ReadMessages = "read:messages");`.
#[macro_export]
macro_rules! required_scope {
    ($(#[$meta:meta])* $vis:vis $name:ident = $scope:literal) => {
        $(#[$meta])*
        $vis struct $name;

        impl $crate::auth::RequiredScope for $name {
            const SCOPE: &'static str = $scope;
            const DENIED: &'static str = concat!(
                "The access token does not grant the scope `", $scope,
                "` (neither in its `scope` claim nor in its `permissions`)"
            );
        }
    };
}

/// The failures of an operation that requires the scope `S`: those of the bearer scheme, plus
/// 403 `insufficient_scope`.
#[derive(Debug)]
pub struct ScopeDenied<S> {
    /// The failure as it is sent.
    pub error: AuthError,
    scope: PhantomData<S>,
}

impl<S: RequiredScope> ScopeDenied<S> {
    /// Passes the claims through when they grant `S`; the operation's return type picks `S`.
    pub fn check(claims: Arc<Claims>) -> Result<Arc<Claims>, Self> {
        if claims.scopes().contains(S::SCOPE) {
            Ok(claims)
        } else {
            Err(ScopeDenied { error: AuthError::InsufficientScope { scope: S::SCOPE }, scope: PhantomData })
        }
    }
}

impl<S> From<ScopeDenied<S>> for poem::Error {
    fn from(denied: ScopeDenied<S>) -> Self {
        denied.error.into()
    }
}
