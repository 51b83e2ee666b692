import './base.css';
import './jobs.css';
import './detail.css';
