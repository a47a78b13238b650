"""CRM.COM Web API: achievement customer events (`/crmapi/rest/v2/customer_events/…`)."""
