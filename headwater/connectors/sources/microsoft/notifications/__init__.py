"""Microsoft Graph change notifications: subscriptions per drive and mail folder, the webhook receiver,
and the pending-scope registry that turns a notification into an incremental sync of that scope."""
