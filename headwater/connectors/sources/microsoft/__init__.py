"""Microsoft 365 connectors over one Graph client (`headwater.clients.microsoft`).

`common` (the app registration's config, the Graph client factory, the directory of users and
groups), `drives` (the driveItem delta machinery OneDrive and SharePoint share), `onedrive` (every
user's OneDrive), `sharepoint` (sites, their document libraries and pages), `outlook` (mailboxes), and
`notifications` (Graph change notifications: subscriptions, the webhook receiver, pending scopes).
"""
