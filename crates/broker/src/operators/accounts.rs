//! Managing accounts: creating one (it chooses its password through a one-time link; no password ever
//! passes on a command line), roles, removal, and changing one's own password. Keyway always keeps at
//! least one owner.

use keyway_core::audit::{Actor, AuditEvent};
use keyway_core::id::OperatorId;
use keyway_core::operator::{normalise_email, Operator, Role};
use keyway_core::timestamp::Timestamp;
use keyway_store::error::StoreError;
use keyway_store::operators::LinkPurpose;
use secrecy::SecretString;

use crate::error::BrokerError;
use crate::operators::links::Link;
use crate::operators::{password, AccountError};
use crate::Broker;

impl Broker {
    pub async fn operators(&self) -> Result<Vec<Operator>, BrokerError> {
        Ok(self.store.list_operators().await?)
    }

    pub async fn operator(&self, id: &OperatorId) -> Result<Option<Operator>, BrokerError> {
        Ok(self.store.operator(id).await?)
    }

    /// A new account without a password, and the link its holder uses to choose one.
    pub async fn create_operator(
        &self,
        email: &str,
        role: Role,
        by: &Actor,
    ) -> Result<(Operator, Link), BrokerError> {
        let email =
            normalise_email(email).map_err(|e| AccountError::InvalidEmail(e.to_string()))?;
        let now = Timestamp::now();
        let operator = Operator {
            id: OperatorId::generate(),
            email: email.clone(),
            role,
            has_password: false,
            created_at: now,
            updated_at: now,
        };
        let (link, stored) = self.mint_link(LinkPurpose::Password, Some(&operator.id));
        let event =
            AuditEvent::new(by, "operator.created", Some(email)).with("role", role.as_str());
        match self.store.create_operator(&operator, &stored, &event).await {
            Ok(()) => Ok((operator, link)),
            Err(StoreError::Conflict) => Err(AccountError::EmailTaken.into()),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn set_operator_role(
        &self,
        id: &OperatorId,
        role: Role,
        by: &Actor,
    ) -> Result<(), BrokerError> {
        let target = self
            .store
            .operator(id)
            .await?
            .ok_or(AccountError::NotFound)?;
        let event = AuditEvent::new(by, "operator.role_changed", Some(target.email.clone()))
            .with("from", target.role.as_str())
            .with("to", role.as_str());
        self.store
            .set_operator_role(id, role, Timestamp::now(), &event)
            .await?
            .map_err(AccountError::from)?;
        Ok(())
    }

    pub async fn delete_operator(&self, id: &OperatorId, by: &Actor) -> Result<(), BrokerError> {
        let target = self
            .store
            .operator(id)
            .await?
            .ok_or(AccountError::NotFound)?;
        let event = AuditEvent::new(by, "operator.removed", Some(target.email.clone()))
            .with("role", target.role.as_str());
        self.store
            .delete_operator(id, &event)
            .await?
            .map_err(AccountError::from)?;
        Ok(())
    }

    /// Changes one's own password after checking the current one; every other session of the account
    /// ends (the one making the change, `session_token`, stays).
    pub async fn change_own_password(
        &self,
        operator: &Operator,
        session_token: &str,
        current: SecretString,
        new: SecretString,
        by: &Actor,
    ) -> Result<(), BrokerError> {
        let stored = self.store.operator_password_hash(&operator.id).await?;
        if !password::verify(current, stored).await {
            return Err(AccountError::WrongCredentials.into());
        }
        password::check_policy(&new, &operator.email)?;
        let hash = password::hash(new).await?;
        let event = AuditEvent::new(
            by,
            "operator.password_changed",
            Some(operator.email.clone()),
        );
        self.store
            .change_operator_password(
                &operator.id,
                &hash,
                Some(&self.session_hash(session_token)),
                Timestamp::now(),
                &event,
            )
            .await?;
        Ok(())
    }
}
