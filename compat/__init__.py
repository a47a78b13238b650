"""Vendor-compatible APIs (Talon.One, CRM.COM, Capillary): thin adapters over Laurel's services.

Each package maps its vendor's request onto Laurel's services and Laurel's result onto the
vendor's response. Nothing outside this app imports it.
"""
