"""kapiko's ingestion pipeline: raw Spotify-feature CSVs in, a validated curated dataset out."""
