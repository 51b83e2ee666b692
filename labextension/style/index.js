import './base.css';
import './jobs.css';
import './charts.css';
