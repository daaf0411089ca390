//! Holds and incidents: list, release a hold (through the WMS port), list and acknowledge
//! incidents.

use crate::types::{HoldReleased, HoldView, ReleaseRequest};
use crate::{caller, ConsoleError, ConsoleService};
use domain::console::{authorize, Action, AuditEntry, AuditId, PageOf, PageRequest, Principal};
use domain::ids::{DcCode, ItemNumber};
use domain::ports::ConsolePorts;
use domain::ports::{Clock, HoldRelease, IncidentBoard, IncidentId, IncidentRecord, Incidents, WarehouseSystem};
use std::collections::BTreeMap;

impl<P: ConsolePorts> ConsoleService<P> {
    /// The holds active at `dc`'s WMS, by item, each with its open incident. Supervisor or
    /// manager.
    pub async fn list_holds(&self, who: Option<&Principal>, dc: &DcCode) -> Result<Vec<HoldView>, ConsoleError> {
        authorize(who, Action::ListHolds, dc)?;
        let holds = self.ports.wms().holds(dc).await?;
        let incidents: BTreeMap<String, IncidentId> = self
            .ports
            .incidents()
            .open_incidents(dc)
            .await?
            .into_iter()
            .map(|i| (i.id.to_string(), i.id))
            .collect();
        Ok(holds
            .into_iter()
            .map(|h| HoldView {
                dc: dc.clone(),
                incident: incidents.get(&h.reference).cloned(),
                item: h.item,
                reason: h.reason,
                placed_by: h.placed_by,
                reference: h.reference,
            })
            .collect())
    }

    /// Releases `item`'s hold at `dc` with a reason. The open incident behind the hold
    /// records the release first (so the reconciliation never places the hold again for that
    /// incident), then the WMS releases it; repeating the request after it succeeded changes
    /// nothing. Manager.
    pub async fn release_hold(
        &self,
        who: Option<&Principal>,
        dc: &DcCode,
        item: &ItemNumber,
        request: &ReleaseRequest,
    ) -> Result<HoldReleased, ConsoleError> {
        authorize(who, Action::ReleaseHold, dc)?;
        let p = caller(who)?;
        let open = self.ports.incidents().open_incidents(dc).await?;
        let active = self.ports.wms().holds(dc).await?.into_iter().find(|h| &h.item == item);
        let incident = match &active {
            Some(hold) => open.iter().find(|i| i.id.as_str() == hold.reference),
            None => open.iter().find(|i| &i.item == item),
        };
        let before = match incident {
            Some(i) => self.ports.incident_board().incident(dc, &i.key).await?,
            None => None,
        };
        let already_released = before.as_ref().is_some_and(|r| r.hold_released.is_some());
        let Some(hold) = active else {
            if already_released {
                let reference = incident.map(|i| i.id.to_string()).unwrap_or_default();
                self.audit(self.hold_entry(p, dc, item, &reference, None, before.as_ref(), request))
                    .await?;
                return Ok(HoldReleased {
                    dc: dc.clone(),
                    item: item.clone(),
                    incident: before,
                    released_now: false,
                });
            }
            return Err(ConsoleError::NotFound(format!("no active hold on {item} at {dc}")));
        };
        let now = self.ports.clock().now();
        if let Some(i) = incident {
            self.ports
                .incident_board()
                .record_release(dc, &i.key, &p.user, &request.reason, now)
                .await?;
        }
        self.ports
            .release()
            .release_hold(dc, item, &p.user, &request.reason)
            .await?;
        let after = match incident {
            Some(i) => self.ports.incident_board().incident(dc, &i.key).await?,
            None => None,
        };
        self.audit(self.hold_entry(p, dc, item, &hold.reference, before.as_ref(), after.as_ref(), request))
            .await?;
        Ok(HoldReleased {
            dc: dc.clone(),
            item: item.clone(),
            incident: after,
            released_now: true,
        })
    }

    /// One page of `dc`'s open incidents with their acknowledgement and release. Supervisor or
    /// manager.
    pub async fn list_incidents(
        &self,
        who: Option<&Principal>,
        dc: &DcCode,
        page: &PageRequest,
    ) -> Result<PageOf<IncidentRecord>, ConsoleError> {
        authorize(who, Action::ListIncidents, dc)?;
        Ok(self.ports.incident_board().list_incidents(dc, page).await?)
    }

    /// Acknowledges the open incident `id` at `dc` (the first acknowledgement is kept; a
    /// repeat changes nothing). Manager.
    pub async fn acknowledge_incident(
        &self,
        who: Option<&Principal>,
        dc: &DcCode,
        id: &IncidentId,
    ) -> Result<IncidentRecord, ConsoleError> {
        authorize(who, Action::AcknowledgeIncident, dc)?;
        let p = caller(who)?;
        let incident = self
            .ports
            .incidents()
            .open_incidents(dc)
            .await?
            .into_iter()
            .find(|i| &i.id == id)
            .ok_or_else(|| ConsoleError::NotFound(format!("no open incident {id} at {dc}")))?;
        let board = self.ports.incident_board();
        let before = board.incident(dc, &incident.key).await?;
        board
            .acknowledge(dc, &incident.key, &p.user, self.ports.clock().now())
            .await?;
        let after = board
            .incident(dc, &incident.key)
            .await?
            .ok_or_else(|| ConsoleError::Conflict(format!("incident {id} closed meanwhile")))?;
        let entry = AuditEntry {
            id: AuditId::of(Action::AcknowledgeIncident, &format!("incident:{id}"), "ack"),
            dc: dc.clone(),
            at: self.ports.clock().now(),
            actor: p.user.clone(),
            action: Action::AcknowledgeIncident,
            target: format!("incident:{id}"),
            before: before.as_ref().and_then(|b| serde_json::to_value(b).ok()),
            after: serde_json::to_value(&after).ok(),
            reason: None,
        };
        self.audit(entry).await?;
        Ok(after)
    }

    #[allow(clippy::too_many_arguments)]
    fn hold_entry(
        &self,
        p: &Principal,
        dc: &DcCode,
        item: &ItemNumber,
        reference: &str,
        before: Option<&IncidentRecord>,
        after: Option<&IncidentRecord>,
        request: &ReleaseRequest,
    ) -> AuditEntry {
        let target = format!("hold:{item}");
        AuditEntry {
            id: AuditId::of(Action::ReleaseHold, &target, reference),
            dc: dc.clone(),
            at: self.ports.clock().now(),
            actor: p.user.clone(),
            action: Action::ReleaseHold,
            target,
            before: before.and_then(|b| serde_json::to_value(b).ok()),
            after: after.and_then(|a| serde_json::to_value(a).ok()),
            reason: Some(request.reason.clone()),
        }
    }
}
