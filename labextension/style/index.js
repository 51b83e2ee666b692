import './base.css';
import './jobs.css';
import './table.css';
